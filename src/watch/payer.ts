/**
 * The payer's side (Alice for sender-pays, Carol for recipient-pays): fund contracts, keep
 * a signed refund for each from the start ("refunds need no one online at T"), learn k
 * (and r) from the relay's claim, and refund once T has passed.
 *
 *   created --sign funding + refunds--> funding-signed --broadcast--> funding-broadcast
 *     --confirmed--> funded --claim confirmed--> claimed
 *                          --tip >= T, refund broadcast--> refund-broadcast --> refunded
 *
 * Every step is persisted before the next one acts on it; pass() resumes from any state.
 */
import { RawTx } from '@scure/btc-signer';
import { hex } from '@scure/base';
import { sha256 } from '@noble/hashes/sha2.js';
import { ChainError, type ChainTip } from '../chain/backend.ts';
import { WalletError } from '../wallet/index.ts';
import {
  buildContractScript, buildRefundTx, contractScriptPubKey, type ContractTerms,
} from '../contracts/index.ts';
import { contractId, type ContractRecord } from './book.ts';
import { contractOutSpend, depth, rebroadcast, statusOf } from './chain.ts';
import { WatchError } from './errors.ts';
import { Party, type PartyOptions } from './party.ts';
import { parseTx } from '../wallet/tx-parse.ts';

export interface FundItem {
  terms: ContractTerms;
  amount: number;
  /** Wallet contract-key index whose public key is terms.payerPubkey. */
  keyIndex: number;
  /** Default: hex SHA-256 of the script. */
  id?: string;
}

export interface PayerOptions extends PartyOptions {
  /** sat/vB of the stored refunds; default the funding's fee rate. */
  refundFeeRate?: number;
}

export class PayerContracts extends Party {
  private readonly refundFeeRate: number | undefined;

  constructor(o: PayerOptions) {
    super(o);
    this.refundFeeRate = o.refundFeeRate;
  }

  /** Every contract this payer made, as the book holds it. */
  contracts(): ContractRecord[] {
    return this.book.list('payer');
  }

  /** The contract `id`, if this book has it. */
  contract(id: string): ContractRecord | undefined {
    return this.book.find(id);
  }

  /** Persists, signs funding and refunds, broadcasts. Returns the contracts as stored. */
  fund(items: FundItem[], opts: { feeRate?: number; signal?: AbortSignal } = {}): Promise<ContractRecord[]> {
    return this.exclusive(async () => {
      const prepared = await this.prepare(items, opts);
      await this.broadcastFunding(prepared[0]!.fundingTxid!, opts.signal, prepared[0]!.fundingHeight);
      return prepared.map((c) => this.book.get(c.id));
    });
  }

  /**
   * The first half of fund(): 'created' rows, then the wallet's funding transaction and the
   * refunds signed and stored ('funding-signed'). Nothing is broadcast; pass() broadcasts.
   */
  prepareFunding(items: FundItem[], opts: { feeRate?: number; signal?: AbortSignal } = {}): Promise<ContractRecord[]> {
    return this.exclusive(async () => (await this.prepare(items, opts)).map((c) => this.book.get(c.id)));
  }

  private async prepare(items: FundItem[], opts: { feeRate?: number; signal?: AbortSignal }): Promise<(ContractRecord & { fundingHeight: number })[]> {
    if (!Array.isArray(items) || items.length === 0) throw new WatchError('BAD_INPUT', 'fund expected a non-empty list of contracts');
    const checked = items.map((it) => {
      const script = buildContractScript(it.terms);
      this.keyOf(it.keyIndex, it.terms.payerPubkey, 'payer_pubkey');
      return { id: it.id ?? contractId(script), script, amount: it.amount, keyIndex: it.keyIndex };
    });
    const batch = hex.encode(sha256(new TextEncoder().encode(checked.map((c) => c.id).join(',')))).slice(0, 32);
    const tip = await this.backend.getTip(opts.signal);
    const created = this.commit(() =>
      checked.map((c) => this.book.insert({ ...c, role: 'payer', state: 'created', batch, height: tip.height })),
    );
    let signed: ContractRecord[];
    try {
      signed = await this.signFunding(created, tip, opts.feeRate, opts.signal);
    } catch (err) {
      // The wallet refused to build the funding (funds, fee rate...): nothing exists to resume.
      const ids = created.map((c) => c.id);
      const walletHasIt = this.wallet.locks().some((l) => l.kind === 'contract' && ids.includes(l.ref));
      if (WalletError.is(err) && !walletHasIt) this.book.forgetUnsigned(ids);
      throw err;
    }
    return signed.map((c) => ({ ...c, fundingHeight: tip.height }));
  }

  /** Key and preimages learned from the chain, checking it once more when not yet known. */
  learnKey(id: string, signal?: AbortSignal): Promise<{ k: Uint8Array; r?: Uint8Array } | undefined> {
    return this.exclusive(async () => {
      let c = this.book.get(id);
      if (!c.k && c.fundingTxid !== null && c.fundingVout !== null) {
        const sp = await contractOutSpend(this.backend, { txid: c.fundingTxid, vout: c.fundingVout }, c.script, signal);
        if (sp.kind === 'claim') c = this.learn(c, sp.k, sp.r, sp.txid, null);
      }
      return c.k ? { k: c.k, ...(c.r ? { r: c.r } : {}) } : undefined;
    });
  }

  pass(tip: ChainTip, signal?: AbortSignal): Promise<void> {
    return this.exclusive(() => this.run(tip, signal));
  }

  private async run(tip: ChainTip, signal?: AbortSignal): Promise<void> {
    const active = this.book.active('payer', tip.height, this.reorgDepth);
    // Crash before 'funding-signed': finish each batch (reusing the wallet's pending funding).
    const batches = new Map<string, ContractRecord[]>();
    for (const c of active) if (c.state === 'created') batches.set(c.batch ?? c.id, [...(batches.get(c.batch ?? c.id) ?? []), c]);
    for (const group of batches.values()) {
      signal?.throwIfAborted();
      try {
        await this.signFunding(group, tip, undefined, signal);
      } catch (error) {
        if (signal?.aborted) throw error;
        this.emit('problem', { id: group[0]!.id, error });
      }
    }
    const broadcasted = new Set<string>();
    await this.each(this.book.active('payer', tip.height, this.reorgDepth), (c) => this.step(c.id, tip, broadcasted, signal), signal);
  }

  private async signFunding(created: ContractRecord[], tip: ChainTip, feeRate: number | undefined, signal?: AbortSignal): Promise<ContractRecord[]> {
    const ids = new Set(created.map((c) => c.id));
    const locks = this.wallet.locks().filter((l) => l.kind === 'contract' && ids.has(l.ref));
    const pending = locks.length === created.length && new Set(locks.map((l) => l.txid)).size === 1
      ? this.wallet.pendingTransactions().find((p) => p.txid === locks[0]!.txid)
      : undefined;
    let funding: { txid: string; raw: Uint8Array; vout: Map<string, number>; feeRate: number };
    if (pending) {
      funding = { txid: pending.txid, raw: pending.raw, vout: new Map(locks.map((l) => [l.ref, l.vout])), feeRate: feeRate ?? (await this.rate(signal)) };
    } else {
      const tx = await this.wallet.createTransaction({
        outputs: created.map((c) => ({ script: contractScriptPubKey(c.script), amount: c.amount, contractLabel: c.id })),
        feeRate: feeRate ?? this.feeRate ?? (await this.rate(signal)),
      });
      funding = { txid: tx.txid, raw: tx.raw, vout: new Map(created.map((c, i) => [c.id, i])), feeRate: tx.feeRate };
    }
    const refundRate = this.refundFeeRate ?? funding.feeRate;
    // Refunds pay the funding's own change address. Most refunds are never broadcast (the
    // relay claims), and a fresh address per batch would leave a run of unused addresses that a
    // seed restore stops scanning at (gap limit), missing later coins. The change address is
    // used as soon as the funding confirms, and the refund links nothing the funding does not.
    const contractVouts = new Set(funding.vout.values());
    const change = parseTx(funding.raw).outputs.find((o) => !contractVouts.has(o.vout));
    const refundTo = change?.script ?? this.wallet.newReceiveAddress().script;
    const signed = created.map((c) => {
      const vout = funding.vout.get(c.id)!;
      const refund = buildRefundTx({
        contracts: [{ outpoint: { txid: funding.txid, vout }, amount: c.amount, script: c.script }],
        payerPrivkey: this.keyOf(c.keyIndex, c.terms.payerPubkey, 'payer_pubkey'),
        destScript: refundTo,
        feeRate: refundRate,
      });
      return { c, patch: { fundingTxid: funding.txid, fundingVout: vout, fundingRaw: funding.raw, refundTxid: refund.txid, refundRaw: refund.tx } };
    });
    return this.commit(() => signed.map((s) => this.move(s.c.id, 'funding-signed', tip.height, s.patch)));
  }

  /** Broadcasts a funding once per pass; the chain already holding it counts as success. */
  private async broadcastFunding(txid: string, signal?: AbortSignal, height: number | null = null): Promise<void> {
    const group = this.book.list('payer').filter((c) => c.fundingTxid === txid && c.state === 'funding-signed');
    if (group.length === 0) return;
    try {
      try {
        await this.wallet.broadcast(txid);
      } catch (err) {
        if (!WalletError.is(err, 'UNKNOWN_TX')) throw err;
        await rebroadcast(this.backend, group[0]!.fundingRaw!, signal);
      }
    } catch (err) {
      const cause = WalletError.is(err, 'BROADCAST_FAILED') ? err.cause : err;
      // A refusal is final for the wallet (it freed the coins): the funding will never exist.
      const code = ChainError.is(cause) ? cause.code : undefined;
      if (code !== undefined && code !== 'BACKEND_UNAVAILABLE') {
        this.commit(() => group.forEach((c) => this.move(c.id, 'inputs-spent-elsewhere', height, undefined, code)));
        return;
      }
      throw err;
    }
    this.commit(() => group.forEach((c) => this.move(c.id, 'funding-broadcast', height)));
  }

  private async step(id: string, tip: ChainTip, broadcasted: Set<string>, signal?: AbortSignal): Promise<void> {
    const h = tip.height;
    for (let guard = 0; guard < 8; guard++) {
      const c = this.book.get(id);
      const outpoint = { txid: c.fundingTxid!, vout: c.fundingVout! };
      switch (c.state) {
        case 'funding-signed':
          if (broadcasted.has(c.fundingTxid!)) return;
          broadcasted.add(c.fundingTxid!);
          await this.broadcastFunding(c.fundingTxid!, signal, h);
          return;
        case 'funding-broadcast': {
          const st = await statusOf(this.backend, c.fundingTxid!, signal);
          if (depth(st, h) >= 1) { this.move(id, 'funding-confirmed', h); continue; }
          if (st) return; // in the mempool: wait
          if (await this.inputsSpentElsewhere(c, signal)) { this.move(id, 'inputs-spent-elsewhere', h); return; }
          this.move(id, 'funding-lost', h, undefined, 'funding not in chain or mempool');
          continue;
        }
        case 'funded':
        case 'refund-broadcast': {
          if (depth(await statusOf(this.backend, c.fundingTxid!, signal), h) < 1) {
            this.move(id, 'funding-lost', h, undefined, 'funding no longer confirmed');
            continue;
          }
          const sp = await contractOutSpend(this.backend, outpoint, c.script, signal);
          if (sp.kind === 'claim') {
            if (c.state === 'refund-broadcast' && !sp.status.confirmed) { this.move(id, 'refund-lost', h); continue; }
            const learned = c.k ? c : this.learn(c, sp.k, sp.r, sp.txid, h);
            if (sp.status.confirmed) {
              this.move(id, 'claim-confirmed', h, { claimTxid: sp.txid, settledHeight: sp.status.blockHeight ?? h });
              this.wallet.releaseContractOutput(outpoint.txid, outpoint.vout);
              this.emit('claimed', { id, txid: sp.txid, height: sp.status.blockHeight ?? h });
            } else if (learned.claimTxid !== sp.txid) {
              this.book.update(id, { claimTxid: sp.txid }, 'claim-replaced', h);
            }
            return;
          }
          if (sp.kind === 'refund') {
            if (c.state === 'funded') { this.move(id, 'refund-broadcast', h, undefined, 'refund seen on chain'); continue; }
            if (sp.status.confirmed) {
              this.move(id, 'refund-confirmed', h, { settledHeight: sp.status.blockHeight ?? h });
              this.wallet.releaseContractOutput(outpoint.txid, outpoint.vout);
              this.emit('refunded', { id, txid: sp.txid, height: sp.status.blockHeight ?? h });
            }
            return;
          }
          if (c.state === 'refund-broadcast') { this.move(id, 'refund-lost', h); continue; }
          // nLockTime T is final in block T+1: the refund may enter the mempool once the tip is T.
          if (h < c.terms.locktime) return;
          await rebroadcast(this.backend, c.refundRaw!, signal);
          this.move(id, 'refund-broadcast', h);
          return;
        }
        case 'claimed':
        case 'refunded': {
          const txid = c.state === 'claimed' ? c.claimTxid! : c.refundTxid!;
          if (depth(await statusOf(this.backend, txid, signal), h) >= 1) return;
          this.move(id, c.state === 'claimed' ? 'claim-lost' : 'refund-lost', h, undefined, `${txid} no longer confirmed`);
          continue;
        }
        default:
          return;
      }
    }
  }

  private learn(c: ContractRecord, k: Uint8Array, r: Uint8Array | undefined, txid: string, height: number | null): ContractRecord {
    const patch = { k, claimTxid: txid, ...(r ? { r } : {}) };
    const next = c.state === 'funded' ? this.move(c.id, 'claim-seen', height, patch) : this.book.update(c.id, patch, 'claim-seen', height);
    this.emit('key-learned', { id: c.id, k, ...(r ? { r } : {}), txid });
    return next;
  }

  /** True when an input of the stored funding is spent by another transaction. */
  private async inputsSpentElsewhere(c: ContractRecord, signal?: AbortSignal): Promise<boolean> {
    for (const input of RawTx.decode(c.fundingRaw!).inputs) {
      const prev = hex.encode(input.txid);
      try {
        const os = await this.backend.getOutspend(prev, input.index, signal);
        if (os.spent && os.txid !== c.fundingTxid) return true;
      } catch (err) {
        // The coin's own transaction is gone too: nothing proves a conflict; a rebroadcast will tell.
        if (ChainError.is(err, 'NOT_FOUND')) continue;
        throw err;
      }
    }
    return false;
  }
}
