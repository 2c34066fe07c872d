/**
 * The bridge to bitcore-lib's script interpreter, plus a cache of transactions whose
 * scripts already passed, keyed by wtxid (a wtxid fixes every input, and so every prevout
 * script and amount, so a pass cannot go stale).
 *
 * CLEANSTACK is never passed: bitcore 11 checks it against the scriptSig's stack, which
 * wrongly fails every valid native segwit spend (see docs/devnet-consensus.md).
 */
import bitcore from 'bitcore-lib';
import { ChainError } from '../backend.ts';
import type { ChainErrorCode } from '../backend.ts';
import type { ParsedTx } from './tx.ts';

const I = bitcore.Script.Interpreter;

/** Every flag name bitcore knows, mapped to its bit (Core's names without SCRIPT_VERIFY_). */
export const FLAG_BITS: Record<string, number> = {
  P2SH: I.SCRIPT_VERIFY_P2SH!,
  STRICTENC: I.SCRIPT_VERIFY_STRICTENC!,
  DERSIG: I.SCRIPT_VERIFY_DERSIG!,
  LOW_S: I.SCRIPT_VERIFY_LOW_S!,
  NULLDUMMY: I.SCRIPT_VERIFY_NULLDUMMY!,
  SIGPUSHONLY: I.SCRIPT_VERIFY_SIGPUSHONLY!,
  MINIMALDATA: I.SCRIPT_VERIFY_MINIMALDATA!,
  DISCOURAGE_UPGRADABLE_NOPS: I.SCRIPT_VERIFY_DISCOURAGE_UPGRADABLE_NOPS!,
  CLEANSTACK: I.SCRIPT_VERIFY_CLEANSTACK!,
  CHECKLOCKTIMEVERIFY: I.SCRIPT_VERIFY_CHECKLOCKTIMEVERIFY!,
  CHECKSEQUENCEVERIFY: I.SCRIPT_VERIFY_CHECKSEQUENCEVERIFY!,
  WITNESS: I.SCRIPT_VERIFY_WITNESS!,
  DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM: I.SCRIPT_VERIFY_DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM!,
  MINIMALIF: I.SCRIPT_VERIFY_MINIMALIF!,
  NULLFAIL: I.SCRIPT_VERIFY_NULLFAIL!,
  WITNESS_PUBKEYTYPE: I.SCRIPT_VERIFY_WITNESS_PUBKEYTYPE!,
  CONST_SCRIPTCODE: I.SCRIPT_VERIFY_CONST_SCRIPTCODE!,
  TAPROOT: I.SCRIPT_VERIFY_TAPROOT!,
  DISCOURAGE_UPGRADABLE_TAPROOT_VERSION: I.SCRIPT_VERIFY_DISCOURAGE_UPGRADABLE_TAPROOT_VERSION!,
  DISCOURAGE_OP_SUCCESS: I.SCRIPT_VERIFY_DISCOURAGE_OP_SUCCESS!,
  DISCOURAGE_UPGRADABLE_PUBKEYTYPE: I.SCRIPT_VERIFY_DISCOURAGE_UPGRADABLE_PUBKEYTYPE!,
};

const f = (...names: string[]): number => names.reduce((acc, n) => acc | FLAG_BITS[n]!, 0);

/** What a block must satisfy (Core's consensus flags on regtest, every soft fork active). */
export const CONSENSUS_FLAGS = f('P2SH', 'DERSIG', 'NULLDUMMY', 'CHECKLOCKTIMEVERIFY', 'CHECKSEQUENCEVERIFY', 'WITNESS', 'TAPROOT');

/** What the mempool demands (Core's STANDARD_SCRIPT_VERIFY_FLAGS minus CLEANSTACK). */
export const STANDARD_FLAGS =
  CONSENSUS_FLAGS |
  f(
    'STRICTENC',
    'LOW_S',
    'MINIMALDATA',
    'DISCOURAGE_UPGRADABLE_NOPS',
    'DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM',
    'MINIMALIF',
    'NULLFAIL',
    'WITNESS_PUBKEYTYPE',
    'CONST_SCRIPTCODE',
    'DISCOURAGE_UPGRADABLE_TAPROOT_VERSION',
    'DISCOURAGE_OP_SUCCESS',
    'DISCOURAGE_UPGRADABLE_PUBKEYTYPE',
  );

export interface Prevout {
  value: number;
  script: Uint8Array;
}

export type ScriptResult = { ok: true } | { ok: false; input: number; error: string };

const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** Runs every input through bitcore; reports the first failure with bitcore's error string. */
export function runScripts(raw: Uint8Array, inputs: { scriptSig: Uint8Array; witness: Uint8Array[] }[], prevouts: Prevout[], flags: number): ScriptResult {
  let btx: InstanceType<typeof bitcore.Transaction>;
  try {
    btx = new bitcore.Transaction(buf(raw));
    // Taproot sighashes commit to every spent output, so bitcore needs them all.
    btx.inputs.forEach((inp, i) => {
      const p = prevouts[i]!;
      inp.output = new bitcore.Transaction.Output({ satoshis: p.value, script: buf(p.script) });
    });
  } catch (e) {
    return { ok: false, input: 0, error: `bitcore cannot read the transaction: ${(e as Error).message}` };
  }
  for (let i = 0; i < inputs.length; i++) {
    const inp = inputs[i]!;
    const p = prevouts[i]!;
    const interp = new bitcore.Script.Interpreter();
    try {
      const ok = interp.verify(
        new bitcore.Script(buf(inp.scriptSig)),
        new bitcore.Script(buf(p.script)),
        btx,
        i,
        flags,
        inp.witness.map(buf),
        p.value,
      );
      if (!ok) return { ok: false, input: i, error: interp.errstr || 'SCRIPT_ERR_UNKNOWN' };
    } catch (e) {
      return { ok: false, input: i, error: `SCRIPT_ERR_EXCEPTION: ${(e as Error).message}` };
    }
  }
  return { ok: true };
}

export function errorCodeFor(bitcoreError: string): ChainErrorCode {
  if (bitcoreError.includes('UNSATISFIED_LOCKTIME') || bitcoreError.includes('NEGATIVE_LOCKTIME')) return 'LOCKTIME_NOT_REACHED';
  if (/SIG|PUBKEYTYPE|PUBKEY/.test(bitcoreError)) return 'BAD_SIGNATURE';
  return 'SCRIPT_FAILED';
}

/** Script verification with a bounded wtxid cache of passes under `flags`. */
export class ScriptChecker {
  private readonly passed = new Map<string, number>();

  constructor(private readonly capacity = 200_000) {}

  /** Throws ChainError (BAD_SIGNATURE, LOCKTIME_NOT_REACHED or SCRIPT_FAILED) on the first failing input. */
  check(tx: ParsedTx, prevouts: Prevout[], flags: number): void {
    const cached = this.passed.get(tx.wtxid);
    if (cached !== undefined && (cached & flags) === flags) return;
    const r = runScripts(tx.raw, tx.inputs, prevouts, flags);
    if (!r.ok) {
      throw new ChainError(errorCodeFor(r.error), `input ${r.input} of ${tx.txid} fails its script: ${r.error}`);
    }
    if (this.passed.size >= this.capacity) this.passed.delete(this.passed.keys().next().value!);
    this.passed.set(tx.wtxid, flags);
  }
}
