/**
 * What the relay needs from the Bitcoin side, as small injected interfaces, and the
 * implementations available until the chain is wired in. Each says honestly what it
 * does: none of them pretends a payment happened.
 */
import { HDKey, HARDENED_OFFSET } from '@scure/bip32';
import type { ChainBackend } from '../chain/backend.ts';
import type { Deposit, PaymentMode } from '../core/objects/index.ts';
import { RelayError } from './errors.ts';
import type { MessageRow, QuoteRow } from './store.ts';

/** The relay wallet's contract keys (claim branch of every contract it quotes). */
export interface ContractKeys {
  /** 33-byte compressed secp256k1 public key of contract key `index`. */
  pubkey(index: number): Uint8Array;
}

/** The chain facts a quote depends on. */
export interface ChainPolicy {
  /** Current tip height; quotes set T = tip + lockBlocks. Throws RelayError CHAIN_UNAVAILABLE. */
  tip(): Promise<number>;
}

/** Checks a deposit's funding output against its quote. */
export interface FundingVerifier {
  /** Modes this verifier can handle; the relay offers only these (intersected with its config). */
  readonly modes: readonly PaymentMode[];
  /**
   * 'ok': the deposit may be stored as paid-for (or, for recipient-pays, as awaiting payment);
   * 'pending': funding seen, not yet at the required depth. Throws RelayError FUNDING_*.
   */
  verify(quote: QuoteRow, deposit: Deposit): Promise<'ok' | 'pending'>;
}

export interface UnlockContext {
  message: MessageRow;
  quote: QuoteRow;
}

/** Releases k once the contract conditions hold. */
export interface Unlocker {
  /** Sender-pays: r (already checked against hr) is Carol's delivery receipt. Resolves k. */
  senderPaysUnlock(ctx: UnlockContext, r: Uint8Array): Promise<Uint8Array>;
  /** Recipient-pays: k once Carol's payment is confirmed, else undefined. */
  recipientPaysStatus(ctx: UnlockContext): Promise<Uint8Array | undefined>;
}

/**
 * Contract keys m/1017'/coin'/0'/i' from a 32-byte seed kept in the relay's data dir
 * (the same branch the user wallet uses for its contract keys, src/wallet/keys.ts).
 */
export class SeedContractKeys implements ContractKeys {
  private readonly root: HDKey;
  constructor(seed: Uint8Array, coinType: 0 | 1) {
    this.root = HDKey.fromMasterSeed(seed).derive(`m/1017'/${coinType}'/0'`);
  }
  pubkey(index: number): Uint8Array {
    return this.root.deriveChild(index + HARDENED_OFFSET).publicKey!;
  }
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
 * Until funding verification is wired: recipient-pays deposits need no funding (Carol
 * pays at unlock), so they are accepted; sender-pays deposits are refused, because
 * accepting one would mean storing without having checked the payment.
 */
export class RecipientPaysOnly implements FundingVerifier {
  readonly modes: readonly PaymentMode[] = ['recipient-pays'];
  async verify(quote: QuoteRow, deposit: Deposit): Promise<'ok' | 'pending'> {
    if (quote.mode !== 'recipient-pays') {
      throw new RelayError('FUNDING_UNAVAILABLE', 'this relay cannot verify sender-pays funding yet');
    }
    if (deposit.funding !== undefined) {
      throw new RelayError('FUNDING_UNEXPECTED', 'a recipient-pays deposit carries no funding outpoint');
    }
    return 'ok';
  }
}

/** Until claiming is wired: k is never released, and callers are told so. */
export class ChainNotWired implements Unlocker {
  async senderPaysUnlock(): Promise<Uint8Array> {
    throw new RelayError('UNLOCK_UNAVAILABLE', 'this relay cannot claim contracts yet, so it cannot release k');
  }
  async recipientPaysStatus(): Promise<Uint8Array | undefined> {
    throw new RelayError('UNLOCK_UNAVAILABLE', 'this relay cannot watch payments yet, so it cannot release k');
  }
}
