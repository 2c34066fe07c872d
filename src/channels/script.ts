/**
 * The channel funding script (docs/protocol.md "## Payment channels"), as a token array that
 * reads like the script, and its P2WSH wrapping.
 *
 *   OP_IF                                                  2-of-2 path: commitments, cooperative close
 *     2 <payer_pubkey> <relay_pubkey> 2 OP_CHECKMULTISIG
 *   OP_ELSE                                                payer's exit after T_ch
 *     <T_ch> OP_CHECKLOCKTIMEVERIFY OP_DROP <payer_pubkey> OP_CHECKSIG
 *   OP_ENDIF
 *
 *   2-of-2 witness: <> <sig_payer> <sig_relay> 01 <script>
 *     CHECKMULTISIG matches signatures to keys in order, so the payer's signature (first key)
 *     sits below the relay's; the leading empty item is the dummy CHECKMULTISIG pops (NULLDUMMY).
 *   exit witness:   <sig_payer> <> <script>, nLockTime >= T_ch (a height), nSequence < 0xffffffff
 *
 * T_ch is pushed as a minimal CScriptNum (OP_n for 1..16), as CLTV and MINIMALDATA require.
 */
import { Address, OutScript, Script, ScriptNum } from '@scure/btc-signer';
import type { ScriptType } from '@scure/btc-signer';
import { sha256 } from '@noble/hashes/sha2.js';
import type { BtcNetwork } from '../core/network.ts';
import { assertLocktime, assertPubkey, bytesEqual } from '../contracts/validate.ts';
import { ChannelError } from './errors.ts';

export interface FundingTerms {
  payerPubkey: Uint8Array;
  relayPubkey: Uint8Array;
  /** T_ch: block height from which the payer alone may spend (< 500,000,000). */
  channelLocktime: number;
}

function tokens(t: FundingTerms): ScriptType {
  return [
    'IF',
    2, t.payerPubkey, t.relayPubkey, 2, 'CHECKMULTISIG',
    'ELSE',
    t.channelLocktime, 'CHECKLOCKTIMEVERIFY', 'DROP', t.payerPubkey, 'CHECKSIG',
    'ENDIF',
  ];
}

/** Throws NOT_A_CHANNEL (wrapping the contracts' BAD_PUBKEY / BAD_LOCKTIME) for invalid terms. */
export function assertFundingTerms(t: FundingTerms): void {
  try {
    if (t === null || typeof t !== 'object') throw new Error('funding terms expected an object');
    assertPubkey('payerPubkey', t.payerPubkey);
    assertPubkey('relayPubkey', t.relayPubkey);
    if (bytesEqual(t.payerPubkey, t.relayPubkey)) throw new Error('"relayPubkey" expected a key other than the payer\'s, got the same key');
    assertLocktime('channelLocktime', t.channelLocktime);
  } catch (err) {
    throw new ChannelError('NOT_A_CHANNEL', `channel terms invalid: ${(err as Error).message}`, { cause: err });
  }
}

export function buildFundingScript(t: FundingTerms): Uint8Array {
  assertFundingTerms(t);
  return Script.encode(tokens(t));
}

/**
 * Re-derives the terms from a witness script; anything that is not byte for byte what
 * buildFundingScript makes for valid terms (other key order, non-minimal pushes, a time
 * locktime, trailing bytes...) is NOT_A_CHANNEL.
 */
export function parseFundingScript(script: Uint8Array): FundingTerms {
  let terms: FundingTerms;
  try {
    if (!(script instanceof Uint8Array)) throw new Error('script is not bytes');
    const d = Script.decode(script);
    if (d.length !== 13) throw new Error(`${d.length} script elements, expected 13`);
    const push = (i: number): Uint8Array => {
      const e = d[i];
      if (!(e instanceof Uint8Array)) throw new Error(`element ${i} is not a push`);
      return e;
    };
    const lt = d[7];
    const channelLocktime = typeof lt === 'number' ? lt : lt instanceof Uint8Array ? Number(ScriptNum(5, true).decode(lt)) : NaN;
    terms = { payerPubkey: push(2), relayPubkey: push(3), channelLocktime };
    // Re-encoding checks every opcode, both payer-key positions and every push spelling at once.
    const again = buildFundingScript(terms);
    if (!bytesEqual(again, script)) throw new Error('differs from the template');
  } catch (err) {
    throw new ChannelError('NOT_A_CHANNEL', `script is not a satpost channel: ${(err as Error).message}`, { cause: err });
  }
  return terms;
}

/** OP_0 <SHA-256(script)>. */
export function fundingScriptPubKey(script: Uint8Array): Uint8Array {
  return OutScript.encode({ type: 'wsh', hash: sha256(script) });
}

export function fundingAddress(script: Uint8Array, network: BtcNetwork): string {
  return Address(network).encode({ type: 'wsh', hash: sha256(script) });
}

/** 2-of-2 witness stack (bottom first); signatures are DER with their sighash byte. */
export function multisigWitness(sigPayer: Uint8Array, sigRelay: Uint8Array, script: Uint8Array): Uint8Array[] {
  return [new Uint8Array(0), sigPayer, sigRelay, Uint8Array.of(1), script];
}

/** Payer's exit witness: the empty selector takes OP_ELSE. */
export function exitWitness(sigPayer: Uint8Array, script: Uint8Array): Uint8Array[] {
  return [sigPayer, new Uint8Array(0), script];
}
