/** Conversions between Esplora's wire status objects and the ChainBackend types. */
import type { OutSpend, TxStatus } from '../backend.ts';
import type { EsploraOutspend, EsploraStatus } from './types.ts';

export function toEsploraStatus(s: TxStatus): EsploraStatus {
  if (!s.confirmed) return { confirmed: false };
  return { confirmed: true, block_height: s.blockHeight!, block_hash: s.blockHash!, block_time: s.blockTime! };
}

export function fromEsploraStatus(s: EsploraStatus): TxStatus {
  if (!s.confirmed) return { confirmed: false };
  return { confirmed: true, blockHeight: s.block_height, blockHash: s.block_hash, blockTime: s.block_time };
}

export function toEsploraOutspend(o: OutSpend): EsploraOutspend {
  if (!o.spent) return { spent: false };
  const out: EsploraOutspend = { spent: true, txid: o.txid!, vin: o.vin! };
  if (o.status) out.status = toEsploraStatus(o.status);
  return out;
}

export function fromEsploraOutspend(o: EsploraOutspend): OutSpend {
  if (!o.spent) return { spent: false };
  const out: OutSpend = { spent: true, txid: o.txid!, vin: o.vin! };
  if (o.status) out.status = fromEsploraStatus(o.status);
  return out;
}
