/**
 * What the relay needs from the Bitcoin side, as small injected interfaces, and the
 * implementations used without a chain. Each says honestly what it does: none of them
 * pretends a payment happened. The chain-wired implementation is src/relay/payments.ts.
 */
import type { ChainBackend } from '../chain/backend.ts';
import type { Deposit, PaymentMode, PaymentNotice } from '../core/objects/index.ts';
import { RelayError } from './errors.ts';
import type { MessageRow, MessageState, QuoteRow } from './store.ts';

/** The relay wallet's contract keys (claim branch of every contract it quotes). */
export interface ContractKeys {
  /** 33-byte compressed secp256k1 public key of contract key `index` of contract-key account `account`. */
  pubkey(index: number, account: number): Uint8Array;
}

/** The chain facts a quote depends on. */
export interface ChainPolicy {
  /** Current tip height; quotes set T = tip + lockBlocks. Throws RelayError CHAIN_UNAVAILABLE. */
  tip(): Promise<number>;
}

/** What an unlock request gets: k, or how far the payment is. */
export type UnlockOutcome =
  | { state: 'unlocked'; k: Uint8Array; claimTxid?: string }
  | { state: 'awaiting-confirmation'; confirmations: number; required: number }
  | { state: 'awaiting-payment' };

export interface UnlockContext {
  message: MessageRow;
  quote: QuoteRow;
}

/** The relay's contract of one message, as a mailbox listing shows it. */
export interface ContractView {
  state: string;
  funding?: { txid: string; vout: number; confirmations: number };
  claimTxid?: string;
}

/** What the payments know of a deposit's payment when it is stored. */
export interface DepositPayment {
  contractId?: string;
  state: MessageState;
  paid: boolean;
}

/** Registers, checks and settles the contracts that pay for messages. */
export interface Payments {
  /** Modes these payments can handle; the relay offers only these (intersected with its config). */
  readonly modes: readonly PaymentMode[];
  /**
   * Called for a deposit that passed the relay's own checks, before it is stored. Sender-pays:
   * registers the contract durably and checks `funding` when given (RelayError FUNDING_*).
   * `paid`: a payment for it was seen (a funding on chain, or an in-flight channel HTLC).
   */
  deposit(quote: QuoteRow, d: Deposit): Promise<DepositPayment>;
  /** Sender-pays: r (already checked against hr). Recipient-pays: a PaymentNotice. Neither: ask again. */
  unlock(ctx: UnlockContext, input: { r?: Uint8Array; notice?: PaymentNotice }): Promise<UnlockOutcome & { contractId?: string; payerPubkey?: Uint8Array }>;
  /** Contract views of the given contract ids (for mailbox listings). */
  views(contractIds: readonly string[]): Promise<Map<string, ContractView>>;
  /** Retention ended for these messages: their unpaid contracts forget k and are left to refund. */
  forget(contractIds: readonly string[]): Promise<void>;
  /** Contracts whose claim is signed or broadcast and not yet confirmed; sats of confirmed claims. */
  stats(): { claimsPending: number; satsEarned: number };
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Tip from any ChainBackend (devnet in-process, Esplora over HTTP). Concurrent quotes
 * share one request and a tip is reused for `maxAgeMs`: a tip a second old makes T at
 * most one block earlier than it could be, which only shortens the relay's own window.
 */
export class BackendChainPolicy implements ChainPolicy {
  private cached: { height: number; at: number } | undefined;
  private inFlight: Promise<number> | undefined;

  constructor(
    private readonly backend: ChainBackend,
    private readonly maxAgeMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  tip(): Promise<number> {
    if (this.cached !== undefined && this.now() - this.cached.at < this.maxAgeMs) return Promise.resolve(this.cached.height);
    this.inFlight ??= this.backend.getTip().then(
      (t) => {
        this.inFlight = undefined;
        this.cached = { height: t.height, at: this.now() };
        return t.height;
      },
      (cause: unknown) => {
        this.inFlight = undefined;
        throw new RelayError('CHAIN_UNAVAILABLE', 'the relay cannot reach its chain backend; try again later', { cause });
      },
    );
    return this.inFlight;
  }
}

/** No chain configured: quotes cannot carry a locktime, so they are refused. */
export class NoChain implements ChainPolicy {
  async tip(): Promise<number> {
    throw new RelayError('CHAIN_UNAVAILABLE', 'this relay has no chain backend configured');
  }
}

/**
 * Without a chain backend (benchmarks of the storage path, a relay given only a tip source):
 * recipient-pays deposits need no funding and are stored; sender-pays deposits are refused,
 * because storing one would mean storing without being able to check the payment; k is
 * never released.
 */
export class NoPayments implements Payments {
  readonly modes: readonly PaymentMode[] = ['recipient-pays'];
  async deposit(quote: QuoteRow): Promise<DepositPayment> {
    if (quote.mode !== 'recipient-pays') throw new RelayError('FUNDING_UNAVAILABLE', 'this relay has no chain backend to check sender-pays funding');
    return { state: 'stored', paid: false };
  }
  async unlock(): Promise<never> {
    throw new RelayError('UNLOCK_UNAVAILABLE', 'this relay has no chain backend, so it cannot claim and release k');
  }
  async views(): Promise<Map<string, ContractView>> {
    return new Map();
  }
  async forget(): Promise<void> {}
  stats(): { claimsPending: number; satsEarned: number } {
    return { claimsPending: 0, satsEarned: 0 };
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}
