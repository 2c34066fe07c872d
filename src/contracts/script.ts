/**
 * The two delivery contracts (docs/protocol.md "## Contracts"), as token arrays that read
 * like the script, and their P2WSH wrapping.
 *
 * sender-pays — Alice funds it at deposit; Bob can claim only once Carol has given him r:
 *
 *   OP_IF                                                    claim path (relay)
 *     OP_SIZE 32 OP_EQUALVERIFY OP_SHA256 <H(k)> OP_EQUALVERIFY    k opens the blob
 *     OP_SIZE 32 OP_EQUALVERIFY OP_SHA256 <H(r)> OP_EQUALVERIFY    r is Carol's receipt
 *     <relay_pubkey>
 *   OP_ELSE                                                  refund path (payer)
 *     <T> OP_CHECKLOCKTIMEVERIFY OP_DROP
 *     <payer_pubkey>
 *   OP_ENDIF
 *   OP_CHECKSIG
 *
 *   claim witness:  <sig_relay> <r> <k> 01 <script>
 *   refund witness: <sig_payer> <> <script>,  nLockTime >= T (a height), nSequence < 0xffffffff
 *
 * recipient-pays — Carol funds it when she wants to read: the same without the H(r) line;
 *   claim witness:  <sig_relay> <k> 01 <script>
 *
 * OP_SIZE 32 pins every preimage to 32 bytes so a preimage cannot be something a
 * counterparty could not reproduce on another chain or in an off-chain channel. The
 * selector is exactly 01 or empty, as MINIMALIF (standard for witness v0) demands.
 * T is pushed as a minimally-encoded CScriptNum (OP_n for 1..16), which CLTV requires.
 */
import { Address, OutScript, Script, ScriptNum } from '@scure/btc-signer';
import type { ScriptType } from '@scure/btc-signer';
import { sha256 } from '@noble/hashes/sha2.js';
import type { BtcNetwork } from '../core/network.ts';
import { expected } from '../core/errors.ts';
import { ContractError } from './errors.ts';
import { assertHash, assertLocktime, assertPubkey } from './validate.ts';

export type ContractMode = 'sender-pays' | 'recipient-pays';

export interface ContractTerms {
  mode: ContractMode;
  /** H(k) = SHA-256 of the relay's one-time blob key. */
  hk: Uint8Array;
  /** H(r) = SHA-256 of the sender's receipt secret; present exactly for sender-pays. */
  hr?: Uint8Array;
  relayPubkey: Uint8Array;
  payerPubkey: Uint8Array;
  /** T: block height from which the payer may refund (< 500,000,000). */
  locktime: number;
}

const hashLine = (h: Uint8Array): ScriptType => ['SIZE', 32, 'EQUALVERIFY', 'SHA256', h, 'EQUALVERIFY'];

function tokens(t: ContractTerms): ScriptType {
  return [
    'IF',
    ...hashLine(t.hk),
    ...(t.mode === 'sender-pays' ? hashLine(t.hr!) : []),
    t.relayPubkey,
    'ELSE',
    t.locktime, 'CHECKLOCKTIMEVERIFY', 'DROP',
    t.payerPubkey,
    'ENDIF',
    'CHECKSIG',
  ];
}

export function assertTerms(t: ContractTerms): void {
  if (t === null || typeof t !== 'object') throw new ContractError('NOT_A_CONTRACT', 'contract terms expected an object');
  if (t.mode !== 'sender-pays' && t.mode !== 'recipient-pays') {
    throw new ContractError('NOT_A_CONTRACT', `"mode" expected "sender-pays" or "recipient-pays", got ${JSON.stringify(t.mode)}`);
  }
  assertHash('hk', t.hk);
  if (t.mode === 'sender-pays') assertHash('hr', t.hr);
  else if (t.hr !== undefined) throw new ContractError('BAD_HASH', expected('hr', 'nothing for a recipient-pays contract', t.hr));
  assertPubkey('relayPubkey', t.relayPubkey);
  assertPubkey('payerPubkey', t.payerPubkey);
  assertLocktime('locktime', t.locktime);
}

/** The witness script of a contract. Throws BAD_HASH / BAD_PUBKEY / BAD_LOCKTIME. */
export function buildContractScript(terms: ContractTerms): Uint8Array {
  assertTerms(terms);
  return Script.encode(tokens(terms));
}

/**
 * Re-derives the terms from a witness script. Anything that is not byte for byte what
 * buildContractScript would produce for some valid terms is NOT_A_CONTRACT (non-minimal
 * pushes, other sizes, invalid keys, time-based locktimes...).
 */
export function parseContractScript(script: Uint8Array): ContractTerms {
  let terms: ContractTerms;
  try {
    if (!(script instanceof Uint8Array)) throw new Error('script is not bytes');
    const d = Script.decode(script);
    const mode: ContractMode | undefined = d.length === 21 ? 'sender-pays' : d.length === 15 ? 'recipient-pays' : undefined;
    if (!mode) throw new Error(`${d.length} script elements, neither 21 (sender-pays) nor 15 (recipient-pays)`);
    const o = mode === 'sender-pays' ? 6 : 0;
    const bytes = (i: number): Uint8Array => {
      const e = d[i];
      if (!(e instanceof Uint8Array)) throw new Error(`element ${i} is not a push`);
      return e;
    };
    const lt = d[9 + o];
    const locktime = typeof lt === 'number' ? lt : lt instanceof Uint8Array ? Number(ScriptNum(5, true).decode(lt)) : NaN;
    terms = { mode, hk: bytes(5), relayPubkey: bytes(7 + o), payerPubkey: bytes(12 + o), locktime };
    if (mode === 'sender-pays') terms.hr = bytes(11);
    // Re-encoding checks every opcode and every push spelling at once.
    const again = buildContractScript(terms);
    if (again.length !== script.length || again.some((b, i) => b !== script[i])) throw new Error('differs from the template');
  } catch (err) {
    throw new ContractError('NOT_A_CONTRACT', `script is not a satpost contract: ${(err as Error).message}`, { cause: err });
  }
  return terms;
}

/** OP_0 <SHA-256(script)>. */
export function contractScriptPubKey(script: Uint8Array): Uint8Array {
  return OutScript.encode({ type: 'wsh', hash: sha256(script) });
}

export function contractAddress(script: Uint8Array, network: BtcNetwork): string {
  return Address(network).encode({ type: 'wsh', hash: sha256(script) });
}

/** Claim-path witness stack (bottom first). */
export function claimWitness(sig: Uint8Array, script: Uint8Array, k: Uint8Array, r?: Uint8Array): Uint8Array[] {
  return r ? [sig, r, k, Uint8Array.of(1), script] : [sig, k, Uint8Array.of(1), script];
}

/** Refund-path witness stack: the empty element selects OP_ELSE. */
export function refundWitness(sig: Uint8Array, script: Uint8Array): Uint8Array[] {
  return [sig, new Uint8Array(0), script];
}
