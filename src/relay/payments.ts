/**
 * The relay's payments, wired to the chain: its wallet's contract keys, the contract book
 * (RelayContracts, persisted in the relay's party file next to the wallet) and a
 * ContractWatcher following the tip. The relay never trusts what a client says about a
 * contract: every script is re-derived from the relay's own quote plus the client's key
 * (and H(r)), and every funding is checked on chain against that script and the quoted
 * amount. k leaves the relay only once a claim publishing it is in the chain backend's mempool
 * (or confirmed) and the funding is `minConfirmations` deep on the current best chain: a
 * claim merely signed (a crash before its broadcast) or a funding reorganised out since
 * never releases k.
 */
import { buildContractScript, ContractError, type ContractTerms } from '../contracts/index.ts';
import type { ChainBackend } from '../chain/backend.ts';
import type { Deposit, PaymentMode, PaymentNotice } from '../core/objects/index.ts';
import { bytesEqual } from '../core/hash.ts';
import { checkFundingOutput, contractId, ContractWatcher, RelayContracts, WatchError, type ContractRecord } from '../watch/index.ts';
import { contractOutSpend, depth, statusOf } from '../watch/chain.ts';
import { RelayError } from './errors.ts';
import { RateLimiter } from './rate-limit.ts';
import type { ContractKeys, ContractView, DepositPayment, Payments, UnlockContext, UnlockOutcome } from './chain-ports.ts';
import type { QuoteRow } from './store.ts';

const CLAIMING = new Set(['claim-signed', 'claim-broadcast', 'claimed']);

/**
 * Notices that would register a new contract cost the relay a chain lookup each: per message,
 * a burst of NOTICE_BURST, then one every 1 / NOTICE_PER_SEC seconds. A notice for a contract
 * already in the book (a client polling) is not counted.
 */
export const NOTICE_BURST = 5;
export const NOTICE_PER_SEC = 0.2;

/** WatchErrors a client caused, as refusals; anything else is the relay's problem. */
function refusal(err: unknown): unknown {
  if (WatchError.is(err, 'FUNDING_MISMATCH')) return new RelayError('FUNDING_MISMATCH', err.message, { cause: err });
  if (WatchError.is(err, 'FUNDING_NOT_FOUND')) return new RelayError('FUNDING_NOT_FOUND', err.message, { cause: err });
  if (WatchError.is(err, 'PREIMAGE_MISMATCH')) return new RelayError('PREIMAGE_MISMATCH', "r is not the preimage of this message's hr", { cause: err });
  if (ContractError.is(err, 'BAD_PUBKEY')) return new RelayError('BAD_PUBKEY', '"payerPubkey" expected a compressed secp256k1 point, got bytes that are not one', { cause: err });
  return err;
}

export interface ChainPaymentsDeps {
  backend: ChainBackend;
  relay: RelayContracts;
  keys: ContractKeys;
  onProblem?: (p: { id?: string; error: unknown }) => void;
  /** Clock (ms) of the notice rate limit; default Date.now. */
  now?: () => number;
}

export class ChainPayments implements Payments {
  readonly modes: readonly PaymentMode[] = ['sender-pays', 'recipient-pays'];
  readonly watcher: ContractWatcher;
  private readonly relay: RelayContracts;
  private readonly backend: ChainBackend;
  private waiting: Promise<void> | undefined;
  private last: Promise<void> = Promise.resolve();
  private readonly notices: RateLimiter;

  constructor(private readonly deps: ChainPaymentsDeps) {
    this.relay = deps.relay;
    this.backend = deps.backend;
    this.watcher = new ContractWatcher({ backend: deps.backend, relay: deps.relay });
    this.watcher.on('problem', (p) => deps.onProblem?.(p));
    this.notices = new RateLimiter(NOTICE_BURST, NOTICE_PER_SEC, deps.now ?? Date.now);
  }

  start(): Promise<void> {
    return this.watcher.start();
  }

  stop(): Promise<void> {
    return this.watcher.stop();
  }

  /**
   * One watcher pass that starts after this call (so it sees every write made before it);
   * callers arriving while a pass is only queued share it, so a burst of unlocks costs one
   * pass (and one batched claim), not one each.
   */
  pass(): Promise<void> {
    if (this.waiting) return this.waiting;
    const next: Promise<void> = this.last.catch(() => undefined).then(() => {
      this.waiting = undefined;
      return this.watcher.poll();
    });
    this.waiting = next;
    this.last = next;
    return next.catch((cause: unknown) => {
      throw new RelayError('CHAIN_UNAVAILABLE', 'the relay could not check the chain; try again later', { cause });
    });
  }

  private script(quote: QuoteRow, payerPubkey: Uint8Array, hr?: Uint8Array): Uint8Array {
    const terms: ContractTerms = {
      mode: quote.mode, hk: quote.hk, ...(hr ? { hr } : {}), relayPubkey: this.deps.keys.pubkey(quote.contractIndex, quote.keyAccount), payerPubkey, locktime: quote.locktime,
    };
    try {
      return buildContractScript(terms);
    } catch (err) {
      throw refusal(err);
    }
  }

  /** Registers the contract unless the book has it (a retried deposit or notice). */
  private async ensure(quote: QuoteRow, script: Uint8Array): Promise<ContractRecord> {
    const id = contractId(script);
    const known = this.relay.book.find(id);
    if (known) return known;
    try {
      return await this.relay.register({ script, amount: quote.amount, k: quote.k, keyIndex: quote.contractIndex, keyAccount: quote.keyAccount });
    } catch (err) {
      if (WatchError.is(err, 'DUPLICATE_CONTRACT')) return this.relay.book.get(id);
      throw err;
    }
  }

  /** Checks a funding the client names; a contract the watcher already found funded stays as it is. */
  private async seen(id: string, funding: { txid: string; vout: number }): Promise<void> {
    try {
      await this.relay.fundingSeen(id, funding);
    } catch (err) {
      if (WatchError.is(err, 'BAD_STATE')) return;
      throw refusal(err);
    }
  }

  async deposit(quote: QuoteRow, d: Deposit): Promise<DepositPayment> {
    if (quote.mode !== 'sender-pays') return { state: 'stored', paid: false };
    const script = this.script(quote, d.payerPubkey!, d.hr!);
    // A named funding is checked before the contract is registered: a refused deposit leaves nothing.
    if (d.funding && !this.relay.book.find(contractId(script))) await this.fundingPays(script, quote.amount, d.funding);
    const c = await this.ensure(quote, script);
    if (d.funding) await this.seen(c.id, d.funding);
    const now = this.relay.book.get(c.id);
    // Funded: the given outpoint checked on chain against the script and amount, or found by the watcher.
    return { contractId: c.id, state: now.state === 'funding-confirmed' ? 'stored' : 'funding-pending', paid: now.state !== 'quoted' && now.state !== 'expired' };
  }

  async unlock(ctx: UnlockContext, input: { r?: Uint8Array; notice?: PaymentNotice }): Promise<UnlockOutcome & { contractId?: string; payerPubkey?: Uint8Array }> {
    const { message: m, quote } = ctx;
    let id = m.contractId;
    let bound: { contractId: string; payerPubkey: Uint8Array } | undefined;
    if (input.notice) {
      const n = input.notice;
      if (m.payerPubkey && !bytesEqual(m.payerPubkey, n.payerPubkey)) {
        throw new RelayError('PAYMENT_CONFLICT', 'this message is already paid for by a contract with another payer key');
      }
      const script = this.script(quote, n.payerPubkey);
      if (!this.relay.book.find(contractId(script))) await this.admitNotice(m.id, quote, script, n);
      const c = await this.ensure(quote, script);
      await this.seen(c.id, n.funding);
      id = c.id;
      if (!m.contractId) bound = { contractId: c.id, payerPubkey: n.payerPubkey };
    }
    if (id === undefined) return { state: 'awaiting-payment' };
    if (input.r) {
      try {
        this.relay.provideReceipt(id, input.r);
      } catch (err) {
        if (WatchError.is(err, 'BAD_STATE')) throw new RelayError('CONTRACT_EXPIRED', 'the contract passed its claim deadline or was refunded; k will not be released');
        throw refusal(err);
      }
    }
    let out = await this.outcome(this.relay.book.get(id), quote);
    if (out.state !== 'unlocked') {
      // One pass signs, broadcasts or re-checks what it can; then the same rules again.
      await this.pass();
      out = await this.outcome(this.relay.book.get(id), quote);
    }
    return { ...out, ...(bound ?? {}) };
  }

  /**
   * A notice naming a contract the book does not have yet: rate-limited per message, and its
   * funding must already pay the contract's script the quoted amount (chain or mempool), and
   * the claim deadline must still be ahead, before anything is registered or watched.
   */
  private async admitNotice(messageId: Uint8Array, quote: QuoteRow, script: Uint8Array, n: PaymentNotice): Promise<void> {
    if (!this.notices.take(Buffer.from(messageId).toString('hex'))) {
      throw new RelayError('RATE_LIMITED', 'too many payment notices for this message; try again later');
    }
    await this.fundingPays(script, quote.amount, n.funding);
    let tip;
    try {
      tip = await this.backend.getTip();
    } catch (cause) {
      throw new RelayError('CHAIN_UNAVAILABLE', 'the relay could not check the chain; try again later', { cause });
    }
    if (tip.height >= quote.locktime - this.relay.policy.claimMargin) {
      throw new RelayError('CONTRACT_EXPIRED', 'the contract passed its claim deadline; k will not be released');
    }
  }

  /** The client's funding exists (chain or mempool) and pays `script` exactly `amount`; refusals as RelayErrors. */
  private async fundingPays(script: Uint8Array, amount: number, funding: { txid: string; vout: number }): Promise<void> {
    try {
      await checkFundingOutput(this.backend, script, amount, funding);
    } catch (err) {
      if (err instanceof WatchError) throw refusal(err);
      throw new RelayError('CHAIN_UNAVAILABLE', 'the relay could not check the chain; try again later', { cause: err });
    }
  }

  /**
   * k only when (a) a claim publishing it is in the mempool or the chain and (b) the
   * funding is minConfirmations deep on the current best chain, both asked of the chain now:
   * a stored state ('claim-signed' after a crash before broadcast, or a funding reorganised
   * out since) is never enough on its own.
   */
  private async outcome(c: ContractRecord, quote: QuoteRow): Promise<UnlockOutcome> {
    if (c.state === 'expired') throw new RelayError('CONTRACT_EXPIRED', 'the contract passed its claim deadline or was refunded; k will not be released');
    const required = this.relay.policy.minConfirmations;
    const confirmations = await this.confirmations(c);
    if (CLAIMING.has(c.state) && confirmations >= required) {
      // Any claim of ours spending the funding publishes k (a fee bump replaces the first one).
      const sp = await contractOutSpend(this.backend, { txid: c.fundingTxid!, vout: c.fundingVout! }, c.script);
      if (sp.kind === 'claim') return { state: 'unlocked', k: quote.k, claimTxid: sp.txid };
    }
    return { state: 'awaiting-confirmation', confirmations, required };
  }

  private async confirmations(c: ContractRecord): Promise<number> {
    if (c.fundingTxid === null) return 0;
    const tip = await this.backend.getTip();
    return depth(await statusOf(this.backend, c.fundingTxid), tip.height);
  }

  async views(ids: readonly string[]): Promise<Map<string, ContractView>> {
    const out = new Map<string, ContractView>();
    const records = ids.map((id) => this.relay.book.find(id)).filter((c): c is ContractRecord => c !== undefined);
    const tip = records.some((c) => c.fundingTxid !== null) ? await this.backend.getTip() : undefined;
    await Promise.all(records.map(async (c) => {
      const v: ContractView = { state: c.state, ...(c.claimTxid ? { claimTxid: c.claimTxid } : {}) };
      if (c.fundingTxid !== null && c.fundingVout !== null && tip) {
        v.funding = { txid: c.fundingTxid, vout: c.fundingVout, confirmations: depth(await statusOf(this.backend, c.fundingTxid), tip.height) };
      }
      out.set(c.id, v);
    }));
    return out;
  }

  async forget(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      const c = this.relay.book.find(id);
      if (!c || c.k === null || CLAIMING.has(c.state) || c.state === 'expired') continue;
      this.relay.book.update(id, { k: null }, 'retention-ended');
    }
  }

  stats(): { claimsPending: number; satsEarned: number } {
    const row = this.relay.book.db
      .prepare(`SELECT coalesce(sum(state IN ('claim-signed', 'claim-broadcast')), 0) AS pending,
                       coalesce(sum(CASE WHEN state = 'claimed' THEN amount ELSE 0 END), 0) AS earned
                FROM contracts WHERE role = 'relay'`)
      .get() as { pending: number; earned: number };
    return { claimsPending: row.pending, satsEarned: row.earned };
  }
}
