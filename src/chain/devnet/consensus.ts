/**
 * Context-free rules (Core's CheckTransaction), limits and the regtest subsidy schedule.
 * Pure: these need nothing but the transaction.
 */
import { ChainError } from '../backend.ts';
import { expected } from '../../core/errors.ts';
import { isCoinbase, isCoinbaseInput, MAX_MONEY } from './tx.ts';
import type { ParsedTx } from './tx.ts';

export const MAX_BLOCK_WEIGHT = 4_000_000;
/** Policy: Core's MAX_STANDARD_TX_WEIGHT. Blocks may hold bigger ones; the mempool refuses them. */
export const MAX_STANDARD_TX_WEIGHT = 400_000;
export const COINBASE_MATURITY = 100;
export const SUBSIDY_HALVING_INTERVAL = 150;
export const COIN = 100_000_000;

export function blockSubsidy(height: number): number {
  const halvings = Math.floor(height / SUBSIDY_HALVING_INTERVAL);
  if (halvings >= 64) return 0;
  // Right shift as Core does on int64; exact in doubles because 50 BTC < 2^53.
  return Math.floor((50 * COIN) / 2 ** halvings);
}

/** Core's CheckTransaction; throws MALFORMED_TX naming the broken rule. */
export function checkTransaction(tx: ParsedTx): void {
  if (tx.inputs.length === 0) throw new ChainError('MALFORMED_TX', 'bad-txns-vin-empty: a transaction needs at least one input');
  if (tx.outputs.length === 0) throw new ChainError('MALFORMED_TX', 'bad-txns-vout-empty: a transaction needs at least one output');
  if (strippedSize(tx) * 4 > MAX_BLOCK_WEIGHT) {
    throw new ChainError('MALFORMED_TX', 'bad-txns-oversize: stripped size exceeds the block limit');
  }
  let total = 0;
  tx.outputs.forEach((o, i) => {
    if (o.value < 0 || o.value > MAX_MONEY) throw new ChainError('MALFORMED_TX', expected(`output ${i} value`, `0..${MAX_MONEY}`, o.value));
    total += o.value;
    if (total > MAX_MONEY) throw new ChainError('MALFORMED_TX', expected('sum of outputs', `<= ${MAX_MONEY}`, total));
  });
  const seen = new Set<string>();
  for (const i of tx.inputs) {
    const key = `${i.txid}:${i.vout}`;
    if (seen.has(key)) throw new ChainError('MALFORMED_TX', `bad-txns-inputs-duplicate: ${key} spent twice`);
    seen.add(key);
  }
  if (isCoinbase(tx)) {
    const len = tx.inputs[0]!.scriptSig.length;
    if (len < 2 || len > 100) throw new ChainError('MALFORMED_TX', expected('coinbase scriptSig length', '2..100 bytes', len));
  } else if (tx.inputs.some(isCoinbaseInput)) {
    throw new ChainError('MALFORMED_TX', 'bad-txns-prevout-null: a non-coinbase input spends the null outpoint');
  }
}

/** Bytes without witness data: weight = 3*stripped + total. */
export function strippedSize(tx: ParsedTx): number {
  return (tx.weight - tx.size) / 3;
}
