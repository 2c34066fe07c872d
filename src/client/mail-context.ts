/**
 * What the messaging flows (./send.ts, ./receive.ts, ./publish.ts) share: the user's keys,
 * wallet and contract book, the stores, the relays, and the protocol's margins. The Client
 * builds one per open data directory.
 */
import type { ChainBackend } from '../chain/backend.ts';
import type { LocktimeMargins } from '../contracts/index.ts';
import type { Aead } from '../core/aead.ts';
import type { Ed25519 } from '../core/ed25519.ts';
import type { NetworkName } from '../core/network.ts';
import type { UnlockedIdentity } from '../identity/identity.ts';
import type { PrekeyManager } from '../identity/prekeys.ts';
import type { Sessions } from '../identity/session.ts';
import { WalletError, type Wallet } from '../wallet/index.ts';
import type { PayerContracts } from '../watch/index.ts';
import type { ClientChannels } from './channels.ts';
import { ClientError } from './errors.ts';
import type { MailStore } from './mail-store.ts';
import { RelayClient, type RelayClientOptions } from './relay-client.ts';
import type { ClientStore } from './store.ts';
import type { TagBook } from './tags.ts';

/** Per network: the payer's margins when checking a quoted T (docs/protocol.md "Timelocks"). */
export const CLIENT_MARGINS: Record<NetworkName, LocktimeMargins> = {
  mainnet: { claimMargin: 12, fetchMargin: 24, maxBlocksAhead: 2016 },
  testnet: { claimMargin: 12, fetchMargin: 24, maxBlocksAhead: 2016 },
  signet: { claimMargin: 12, fetchMargin: 24, maxBlocksAhead: 2016 },
  // The devnet scales the margins down and keeps the rules (a relay's lockBlocks must exceed them).
  regtest: { claimMargin: 3, fetchMargin: 6, maxBlocksAhead: 2016 },
};

export interface MailContext {
  network: NetworkName;
  identity: UnlockedIdentity;
  /** Which tags the user's messages go under and which she asks for (./tags.ts). */
  tags: TagBook;
  sessions: Sessions;
  prekeys: PrekeyManager;
  wallet: Wallet;
  backend: ChainBackend;
  payer: PayerContracts;
  /** The payer's channels with relays (same wallet file as the contract book). */
  channels: ClientChannels;
  mail: MailStore;
  contacts: ClientStore;
  /** The user's own relays (config.json). */
  relays: string[];
  /** Where fraud-proof files are exported (<data dir>/fraud-proofs). */
  proofDir: string;
  relay: (url: string) => RelayClient;
  ed: Ed25519;
  aead: Aead;
  margins: LocktimeMargins;
  now: () => number;
  random: (n: number) => Uint8Array;
  /** Test-only crash points (e.g. 'after-deposit', 'after-channel-add'); a no-op in normal use. */
  failpoint: (name: string) => void;
}

/** One RelayClient per relay URL, made on first use. */
export function relayClients(o: RelayClientOptions = {}): (url: string) => RelayClient {
  const cache = new Map<string, RelayClient>();
  return (url) => {
    const key = url.replace(/\/+$/, '');
    let c = cache.get(key);
    if (!c) cache.set(key, (c = new RelayClient(key, o)));
    return c;
  };
}

/**
 * Runs a spend of the wallet's coins after a scan of the chain, skipped while the tip is the one
 * the last scan saw: the wallet applies its own broadcasts at once, and a coin from someone else
 * is spendable only once confirmed, i.e. after the tip moved. So a skipped scan misses no coin
 * this spend could use.
 */
export async function withFreshCoins<T>(ctx: Pick<MailContext, 'wallet'>, spend: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  await ctx.wallet.syncIfStale(signal ? { signal } : {});
  return spend();
}

/** The wallet's refusal to pay, in the client's terms (INSUFFICIENT_FUNDS keeps the wallet's message). */
export function walletProblem(err: unknown): unknown {
  if (WalletError.is(err, 'INSUFFICIENT_FUNDS')) return new ClientError('INSUFFICIENT_FUNDS', err.message, { cause: err });
  return err;
}
