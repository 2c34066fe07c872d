/**
 * The relay's side: contracts it quoted, the funding it verified against the script (never
 * against client fields), the receipt r, and one batched claim per pass that publishes k.
 *
 *   quoted --funding seen--> funded --N confirmations--> funding-confirmed
 *     --k (and r) known, tip < T - claimMargin: claim signed and stored--> claim-signed
 *     --broadcast--> claim-broadcast --confirmed--> claimed
 *   past T - claimMargin without a claim, or the payer refunded: expired
 *
 * A broadcast claim still unconfirmed once the tip reaches T - claimMargin - claimBumpBlocks
 * is replaced (BIP125, same inputs) at each new block by one paying a higher fee rate, each
 * replacement stored before it is broadcast, until it confirms: once k is public, a fee spike
 * must not let the payer's refund (valid from T) win.
 *
 * k is never revealed (a claim never broadcast) while the funding has fewer than
 * minConfirmations: a payer who saw k could otherwise double-spend the funding and read free.
 */
import { RawTx } from '@scure/btc-signer';
import { ChainError, type ChainBackend, type ChainTip } from '../chain/backend.ts';
import { expected } from '../core/errors.ts';
import {
  buildClaimTx, bumpedClaimFeeRate, buildContractScript, bytesEqual, contractScriptPubKey, parseContractScript, preimageMatches,
  type ContractTerms, type Outpoint,
} from '../contracts/index.ts';
import { contractId, type ContractRecord } from './book.ts';
import { contractOutSpend, depth, rebroadcast, statusOf } from './chain.ts';
import { WatchError } from './errors.ts';
import { Party, type PartyOptions } from './party.ts';

/**
 * Contracts per claim transaction: 500 sender-pays inputs are about 58,000 vB, well inside
 * Bitcoin Core's standard limit of 100,000 vB (400,000 weight units). More claimable
 * contracts in one pass are split into several claims of at most this many.
 */
export const MAX_CLAIM_BATCH = 500;

export interface RelayPolicy {
  /** Confirmations the funding needs before the relay claims (devnet 1; mainnet >= 1). */
  minConfirmations: number;
  /** The relay claims only while tip < T - claimMargin (blocks; mainnet 12). */
  claimMargin: number;
}

/** Default of RelayOptions.claimBumpBlocks. */
export const DEFAULT_CLAIM_BUMP_BLOCKS = 6;

export interface RelayOptions extends PartyOptions, RelayPolicy {
  /**
   * Blocks before T - claimMargin from which an unconfirmed claim is fee-bumped at each new
   * block (default DEFAULT_CLAIM_BUMP_BLOCKS).
   */
  claimBumpBlocks?: number;
}

export interface RegisterRequest {
  /** The contract's witness script, as quoted: the terms are re-derived from it. */
  script: Uint8Array;
  /** When given, must be exactly the terms the script encodes. */
  terms?: ContractTerms;
  amount: number;
  /** The one-time blob key; must hash to H(k). */
  k: Uint8Array;
  /** Wallet contract-key index whose public key is the script's relay_pubkey. */
  keyIndex: number;
  /** Contract-key account of keyIndex; default 0. */
  keyAccount?: number;
  id?: string;
}

export class RelayContracts extends Party {
  readonly policy: RelayPolicy;
  readonly claimBumpBlocks: number;

  constructor(o: RelayOptions) {
    super(o);
    for (const [name, v, min] of [['minConfirmations', o.minConfirmations, 1], ['claimMargin', o.claimMargin, 0]] as const) {
      if (!Number.isInteger(v) || v < min) throw new WatchError('BAD_INPUT', expected(name, `an integer >= ${min}`, v));
    }
    this.policy = { minConfirmations: o.minConfirmations, claimMargin: o.claimMargin };
    this.claimBumpBlocks = o.claimBumpBlocks ?? DEFAULT_CLAIM_BUMP_BLOCKS;
    if (!Number.isInteger(this.claimBumpBlocks) || this.claimBumpBlocks < 0) throw new WatchError('BAD_INPUT', expected('claimBumpBlocks', 'an integer >= 0', this.claimBumpBlocks));
  }

  /** Persists a quoted contract ('quoted') before the quote leaves the relay. */
  async register(req: RegisterRequest, signal?: AbortSignal): Promise<ContractRecord> {
    const terms = parseContractScript(req.script);
    if (req.terms && !bytesEqual(buildContractScript(req.terms), req.script)) {
      throw new WatchError('TERMS_MISMATCH', 'the terms given are not the terms the script encodes');
    }
    if (!(req.k instanceof Uint8Array) || !preimageMatches(req.k, terms.hk)) {
      throw new WatchError('PREIMAGE_MISMATCH', expected('k', "a 32-byte preimage of the script's H(k)", req.k));
    }
    this.keyOf(req.keyIndex, terms.relayPubkey, 'relay_pubkey', req.keyAccount);
    const tip = await this.backend.getTip(signal);
    return this.book.insert({
      id: req.id ?? contractId(req.script), role: 'relay', script: req.script, amount: req.amount, keyIndex: req.keyIndex,
      ...(req.keyAccount !== undefined ? { keyAccount: req.keyAccount } : {}),
      k: req.k, state: 'quoted', height: tip.height,
    });
  }

  /**
   * A client says it funded contract `id` at `outpoint`: checked against the chain (script
   * and amount re-derived from the stored script), then 'funded', or 'funding-confirmed'
   * at once when deep enough. FUNDING_NOT_FOUND / FUNDING_MISMATCH otherwise.
   */
  fundingSeen(id: string, outpoint: Outpoint, signal?: AbortSignal): Promise<ContractRecord> {
    return this.exclusive(() => this.seen(id, outpoint, signal));
  }

  private async seen(id: string, outpoint: Outpoint, signal?: AbortSignal): Promise<ContractRecord> {
    const c = this.book.get(id);
    if (c.state !== 'quoted') {
      if (c.fundingTxid === outpoint.txid && c.fundingVout === outpoint.vout) return c;
      throw new WatchError('BAD_STATE', expected(`contract ${id} state`, '"quoted"', c.state));
    }
    await this.checkFunding(c, outpoint, signal);
    const tip = await this.backend.getTip(signal);
    const patch = { fundingTxid: outpoint.txid, fundingVout: outpoint.vout };
    const seen = depth(await statusOf(this.backend, outpoint.txid, signal), tip.height);
    return this.move(id, seen >= this.policy.minConfirmations ? 'funding-confirmed' : 'funding-seen', tip.height, patch);
  }

  /** Carol's delivery receipt r (sender-pays): checked against H(r), then stored. */
  provideReceipt(id: string, r: Uint8Array): ContractRecord {
    const c = this.book.get(id);
    if (c.terms.mode !== 'sender-pays') throw new WatchError('NOT_SENDER_PAYS', `contract ${id} is recipient-pays: it takes no receipt`);
    if (!(r instanceof Uint8Array) || !preimageMatches(r, c.terms.hr!)) {
      throw new WatchError('PREIMAGE_MISMATCH', expected('r', "a 32-byte preimage of the contract's H(r)", r));
    }
    if (c.state === 'expired') throw new WatchError('BAD_STATE', `contract ${id} has expired`);
    return c.r ? c : this.book.update(id, { r }, 'receipt');
  }

  pass(tip: ChainTip, signal?: AbortSignal): Promise<void> {
    return this.exclusive(async () => {
      await this.each(this.book.active('relay', tip.height, this.reorgDepth), (c) => this.step(c.id, tip, signal), signal);
      try {
        await this.sign(tip, signal);
      } catch (error) {
        if (signal?.aborted) throw error;
        this.emit('problem', { error });
      }
      await this.broadcastClaims(tip, signal);
      await this.bumpClaims(tip, signal);
    });
  }

  /**
   * Signs ONE claim sweeping every claimable contract and stores it ('claim-signed') before
   * anything is broadcast. Claimable: funding confirmed minConfirmations deep (re-checked on
   * chain now), k known, r known for sender-pays, tip < T - claimMargin.
   */
  signClaims(tip: ChainTip, signal?: AbortSignal): Promise<ContractRecord[]> {
    return this.exclusive(() => this.sign(tip, signal));
  }

  private async sign(tip: ChainTip, signal?: AbortSignal): Promise<ContractRecord[]> {
    const ready: ContractRecord[] = [];
    for (const c of this.book.list('relay')) {
      if (c.state !== 'funding-confirmed' || !c.k || (c.terms.mode === 'sender-pays' && !c.r)) continue;
      if (tip.height >= this.deadline(c)) continue;
      if (depth(await statusOf(this.backend, c.fundingTxid!, signal), tip.height) < this.policy.minConfirmations) continue;
      ready.push(c);
    }
    const out: ContractRecord[] = [];
    for (let i = 0; i < ready.length; i += MAX_CLAIM_BATCH) {
      out.push(...(await this.signBatch(ready.slice(i, i + MAX_CLAIM_BATCH), 'claim-signed', tip.height, signal)));
    }
    return out;
  }

  private async signBatch(
    batch: ContractRecord[], how: 'claim-signed' | 'claim-resigned' | 'claim-bumped', height: number, signal?: AbortSignal,
    o: { feeRate?: number; destScript?: Uint8Array } = {},
  ): Promise<ContractRecord[]> {
    const claim = buildClaimTx({
      contracts: batch.map((c) => ({
        outpoint: { txid: c.fundingTxid!, vout: c.fundingVout! }, amount: c.amount, script: c.script, k: c.k!,
        ...(c.r ? { r: c.r } : {}), relayPrivkey: this.keyOf(c.keyIndex, c.terms.relayPubkey, 'relay_pubkey', c.keyAccount),
      })),
      destScript: o.destScript ?? this.wallet.newReceiveAddress().script,
      feeRate: o.feeRate ?? (await this.rate(signal)),
    });
    const patch = { claimTxid: claim.txid, claimRaw: claim.tx };
    return this.commit(() => batch.map((c) => (how === 'claim-signed'
      ? this.move(c.id, 'claim-signed', height, patch, `batch of ${batch.length}`)
      : this.book.update(c.id, patch, how, height))));
  }

  /**
   * Fee escalation: a broadcast claim that has not confirmed by T - claimMargin -
   * claimBumpBlocks (earliest T of its batch) is rebuilt over the same inputs and to the same
   * output at a higher fee rate, once per new block, stored ('claim-bumped'), then broadcast
   * as a BIP125 replacement.
   */
  private async bumpClaims(tip: ChainTip, signal?: AbortSignal): Promise<void> {
    const byTx = new Map<string, ContractRecord[]>();
    for (const c of this.book.list('relay')) if (c.state === 'claim-broadcast') byTx.set(c.claimTxid!, [...(byTx.get(c.claimTxid!) ?? []), c]);
    for (const group of byTx.values()) {
      try {
        const first = group[0]!;
        if (tip.height < Math.min(...group.map((c) => this.deadline(c))) - this.claimBumpBlocks) continue;
        if (tip.height <= this.lastClaimHeight(first.id)) continue;
        // Whichever of our claims the chain holds (an earlier one if a bump was refused): bump while unconfirmed.
        const sp = await contractOutSpend(this.backend, { txid: first.fundingTxid!, vout: first.fundingVout! }, first.script, signal);
        if (sp.kind !== 'claim' || sp.status.confirmed) continue;
        const stored = RawTx.decode(first.claimRaw!);
        const destScript = stored.outputs[0]!.script;
        const total = group.reduce((a, c) => a + c.amount, 0);
        const feeRate = bumpedClaimFeeRate({
          items: group.map((c) => ({ mode: c.terms.mode, scriptLength: c.script.length, amount: c.amount })),
          destScript, currentFee: total - Number(stored.outputs[0]!.amount), marketRate: await this.rate(signal),
        });
        if (feeRate === undefined) continue;
        const [bumped] = await this.signBatch(group, 'claim-bumped', tip.height, signal, { feeRate, destScript });
        await rebroadcast(this.backend, bumped!.claimRaw!, signal);
      } catch (error) {
        if (signal?.aborted) throw error;
        this.emit('problem', { id: group[0]!.id, error });
      }
    }
  }

  /** Height of the latest broadcast or bump of this contract's claim. */
  private lastClaimHeight(id: string): number {
    const heights = this.book.history(id).filter((e) => e.event === 'claim-broadcast' || e.event === 'claim-bumped').map((e) => e.height ?? -1);
    return Math.max(-1, ...heights);
  }

  /** Broadcasts each stored claim once; a refusal re-examines its contracts and re-signs the rest. */
  private async broadcastClaims(tip: ChainTip, signal?: AbortSignal): Promise<void> {
    const byTx = new Map<string, ContractRecord[]>();
    for (const c of this.book.list('relay')) if (c.state === 'claim-signed') byTx.set(c.claimTxid!, [...(byTx.get(c.claimTxid!) ?? []), c]);
    for (const [txid, group] of byTx) {
      try {
        // The stored claim reveals k: only with every funding deep enough.
        let shallow = false;
        for (const c of group) {
          if (depth(await statusOf(this.backend, c.fundingTxid!, signal), tip.height) < this.policy.minConfirmations) shallow = true;
        }
        if (shallow) continue;
        try {
          await rebroadcast(this.backend, group[0]!.claimRaw!, signal);
        } catch (err) {
          if (!ChainError.is(err) || ChainError.is(err, 'BACKEND_UNAVAILABLE')) throw err;
          await this.afterRefusal(group, tip, signal);
          continue;
        }
        this.commit(() => group.forEach((c) => this.move(c.id, 'claim-broadcast', tip.height, undefined, txid)));
      } catch (error) {
        if (signal?.aborted) throw error;
        this.emit('problem', { id: group[0]!.id, error });
      }
    }
  }

  /** A batch the chain refused (an input refunded or gone): settle what is settled, re-sign the rest. */
  private async afterRefusal(group: ContractRecord[], tip: ChainTip, signal?: AbortSignal): Promise<void> {
    const rest: ContractRecord[] = [];
    for (const c of group) {
      const sp = await contractOutSpend(this.backend, { txid: c.fundingTxid!, vout: c.fundingVout! }, c.script, signal);
      if (sp.kind === 'refund') this.move(c.id, 'refunded', tip.height, undefined, sp.txid);
      else if (sp.kind === 'claim') this.move(c.id, 'claim-broadcast', tip.height, { claimTxid: sp.txid }, 'claimed by another transaction');
      else if (!(await statusOf(this.backend, c.fundingTxid!, signal))) this.move(c.id, 'funding-lost', tip.height);
      else rest.push(c);
    }
    if (rest.length > 0) await this.signBatch(rest, 'claim-resigned', tip.height, signal);
  }

  private deadline(c: ContractRecord): number {
    return c.terms.locktime - this.policy.claimMargin;
  }

  private async step(id: string, tip: ChainTip, signal?: AbortSignal): Promise<void> {
    const h = tip.height;
    for (let guard = 0; guard < 8; guard++) {
      const c = this.book.get(id);
      const late = h >= this.deadline(c);
      switch (c.state) {
        case 'quoted': {
          if (late) { this.move(id, 'deadline-passed', h); return; }
          const at = await this.findFunding(c, signal);
          if (!at) return;
          await this.seen(id, at, signal);
          continue;
        }
        case 'funded': {
          const st = await statusOf(this.backend, c.fundingTxid!, signal);
          if (!st) { this.move(id, 'funding-lost', h); continue; }
          if (depth(st, h) >= this.policy.minConfirmations) { this.move(id, 'funding-confirmed', h); continue; }
          if (late) this.move(id, 'deadline-passed', h);
          return;
        }
        case 'funding-confirmed': {
          if (depth(await statusOf(this.backend, c.fundingTxid!, signal), h) < this.policy.minConfirmations) {
            this.move(id, 'funding-lost', h, undefined, 'funding no longer deep enough');
            continue;
          }
          const sp = await contractOutSpend(this.backend, { txid: c.fundingTxid!, vout: c.fundingVout! }, c.script, signal);
          if (sp.kind === 'refund') { this.move(id, 'refunded', h, undefined, sp.txid); return; }
          if (late) this.move(id, 'deadline-passed', h);
          return;
        }
        case 'claim-signed': {
          if (!(await statusOf(this.backend, c.fundingTxid!, signal))) { this.move(id, 'funding-lost', h); continue; }
          return; // broadcast by broadcastClaims, once per stored claim
        }
        case 'claim-broadcast': {
          if (!(await statusOf(this.backend, c.fundingTxid!, signal))) { this.move(id, 'funding-lost', h); continue; }
          const sp = await contractOutSpend(this.backend, { txid: c.fundingTxid!, vout: c.fundingVout! }, c.script, signal);
          if (sp.kind === 'refund') { this.move(id, 'refunded', h, undefined, sp.txid); return; }
          if (sp.kind === 'unspent') { this.move(id, 'claim-lost', h, undefined, `${c.claimTxid} left the chain and mempool`); return; }
          if (sp.status.confirmed) {
            const at = sp.status.blockHeight ?? h;
            this.move(id, 'claim-confirmed', h, { claimTxid: sp.txid, settledHeight: at });
            this.emit('claimed', { id, txid: sp.txid, height: at });
          }
          return;
        }
        case 'claimed': {
          if (depth(await statusOf(this.backend, c.claimTxid!, signal), h) >= 1) return;
          // The stored raw is rebroadcast by this pass (claim-signed); a claim of the same
          // contracts by another of our transactions is adopted in claim-broadcast.
          this.move(id, 'claim-lost', h, undefined, `${c.claimTxid} no longer confirmed`);
          return;
        }
        default:
          return;
      }
    }
  }

  /** The funding: the known outpoint if still there, else an output paying the script the exact amount. */
  private async findFunding(c: ContractRecord, signal?: AbortSignal): Promise<Outpoint | undefined> {
    if (c.fundingTxid !== null && c.fundingVout !== null && (await statusOf(this.backend, c.fundingTxid, signal))) {
      return { txid: c.fundingTxid, vout: c.fundingVout };
    }
    const utxos = await this.backend.getScriptUtxos(contractScriptPubKey(c.script), signal);
    const u = utxos.find((x) => x.value === c.amount);
    return u && { txid: u.txid, vout: u.vout };
  }

  private checkFunding(c: ContractRecord, outpoint: Outpoint, signal?: AbortSignal): Promise<void> {
    return checkFundingOutput(this.backend, c.script, c.amount, outpoint, signal);
  }
}

/**
 * The output `outpoint` exists (chain or mempool) and pays exactly `amount` to the P2WSH of
 * `script`; FUNDING_NOT_FOUND / FUNDING_MISMATCH otherwise. Needs no contract in the book, so
 * a client's claim of a funding can be checked before anything is registered for it.
 */
export async function checkFundingOutput(backend: ChainBackend, script: Uint8Array, amount: number, outpoint: Outpoint, signal?: AbortSignal): Promise<void> {
  const raw = await backend.getTx(outpoint.txid, signal);
  if (!raw) throw new WatchError('FUNDING_NOT_FOUND', `funding ${outpoint.txid} is neither in the chain nor in the mempool`);
  const out = RawTx.decode(Uint8Array.from(raw)).outputs[outpoint.vout];
  if (!out) throw new WatchError('FUNDING_MISMATCH', expected('funding vout', 'an output of the funding transaction', outpoint.vout));
  if (!bytesEqual(out.script, contractScriptPubKey(script))) {
    throw new WatchError('FUNDING_MISMATCH', `funding ${outpoint.txid}:${outpoint.vout} expected to pay the contract's P2WSH script, got another script`);
  }
  if (Number(out.amount) !== amount) {
    throw new WatchError('FUNDING_MISMATCH', expected('funding amount', `${amount} sats`, Number(out.amount)));
  }
}
