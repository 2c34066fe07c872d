/**
 * Reading contracts back out of transactions seen on chain or in the mempool: which inputs
 * spend a known contract, by which path, and — for claims — the preimages k (and r) the
 * witness published. The payer and the recipient learn k this way even if the relay never
 * sends it; preimages are checked against the script's hashes before they are returned.
 */
import { RawTx } from '@scure/btc-signer';
import { hex } from '@scure/base';
import { ContractError } from './errors.ts';
import { parseContractScript } from './script.ts';
import type { ContractTerms } from './script.ts';
import type { Outpoint } from './tx.ts';
import { assertPreimage } from './validate.ts';

interface SpendBase {
  inputIndex: number;
  /** The contract output this input spends. */
  outpoint: Outpoint;
  script: Uint8Array;
  terms: ContractTerms;
}
export type ContractSpend =
  | (SpendBase & { branch: 'claim'; k: Uint8Array; r?: Uint8Array })
  | (SpendBase & { branch: 'refund' });

/**
 * Every input of rawTx that spends one of `contractScripts` (witness scripts). An input
 * whose witness names a known script but is not a well-formed claim or refund witness, or
 * whose preimages do not open the hashes, raises PREIMAGE_MISMATCH / BAD_TX: such a
 * transaction cannot be valid, so whoever handed it over is not to be believed.
 */
export function findContractSpends(rawTx: Uint8Array, contractScripts: readonly Uint8Array[]): ContractSpend[] {
  let decoded: ReturnType<typeof RawTx.decode>;
  try {
    // A plain copy: callers may pass a Buffer (e.g. from SQLite), and returned preimages must not alias it.
    decoded = RawTx.decode(Uint8Array.from(rawTx));
  } catch (err) {
    throw new ContractError('BAD_TX', `"tx" expected a raw Bitcoin transaction: ${(err as Error).message}`, { cause: err });
  }
  const known = new Map<string, Uint8Array>();
  for (const s of contractScripts) known.set(hex.encode(s), s);
  const out: ContractSpend[] = [];
  decoded.inputs.forEach((input, inputIndex) => {
    const w = decoded.witnesses?.[inputIndex];
    if (!w || w.length === 0) return;
    const script = known.get(hex.encode(w[w.length - 1]!));
    if (!script) return;
    const terms = parseContractScript(script);
    // btc-signer's RawTx coder already turns wire order into display order.
    const outpoint = { txid: hex.encode(input.txid), vout: input.index };
    const base = { inputIndex, outpoint, script, terms };
    const isOne = (e: Uint8Array | undefined) => e?.length === 1 && e[0] === 1;
    if (terms.mode === 'sender-pays' && w.length === 5 && isOne(w[3])) {
      const [, r, k] = w;
      assertPreimage(`input ${inputIndex} k`, k, terms.hk);
      assertPreimage(`input ${inputIndex} r`, r, terms.hr!);
      out.push({ ...base, branch: 'claim', k: k!, r: r! });
    } else if (terms.mode === 'recipient-pays' && w.length === 4 && isOne(w[2])) {
      const [, k] = w;
      assertPreimage(`input ${inputIndex} k`, k, terms.hk);
      out.push({ ...base, branch: 'claim', k: k! });
    } else if (w.length === 3 && w[1]!.length === 0) {
      out.push({ ...base, branch: 'refund' });
    } else {
      throw new ContractError('BAD_TX', `input ${inputIndex} spends a known contract with a witness of neither path (${w.length} items)`);
    }
  });
  return out;
}

/** The claims among findContractSpends: for each, k (and r for sender-pays), verified. */
export function extractPreimages(rawTx: Uint8Array, contractScripts: readonly Uint8Array[]) {
  return findContractSpends(rawTx, contractScripts).filter((s): s is Extract<ContractSpend, { branch: 'claim' }> => s.branch === 'claim');
}
