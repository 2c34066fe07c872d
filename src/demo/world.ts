/** Everything the story's steps share: the chain, the three parties and the injected capabilities. */
import type { ChainBackend } from '../chain/backend.ts';
import type { Devnet } from '../chain/devnet/devnet.ts';
import type { LocktimeMargins } from '../contracts/index.ts';
import type { Aead } from '../core/aead.ts';
import type { Ed25519 } from '../core/ed25519.ts';
import type { PrekeyBundle } from '../identity/bundle.ts';
import type { Wallet } from '../wallet/index.ts';
import type { DemoRelay } from './bob.ts';
import type { Narrator } from './narrator.ts';
import type { Person } from './people.ts';

export interface World {
  n: Narrator;
  devnet: Devnet;
  /** Each party's own Esplora client of the devnet server. */
  chainOf: { alice: ChainBackend; carol: ChainBackend; bob: ChainBackend };
  alice: Person;
  carol: Person;
  bob: DemoRelay;
  bobWallet: Wallet;
  /** Carol's bundle as Alice fetched it from Bob (first message only). */
  carolBundle?: PrekeyBundle;
  ed: Ed25519;
  aead: Aead;
  random: (n: number) => Uint8Array;
  now: () => number;
  /** The margins the payers apply to a quoted T (the relay's published ones). */
  margins: LocktimeMargins;
}

/** One block, and every wallet catches up with it over HTTP. */
export async function mineAndSync(w: World, why: string): Promise<void> {
  const [hash] = w.devnet.mine(1);
  w.n.say(`a block confirms ${why}: height ${w.devnet.tip().height} (${hash!.slice(0, 16)}…)`);
  await Promise.all([w.alice.wallet.sync(), w.carol.wallet.sync(), w.bobWallet.sync()]);
}

/** Everything a wallet holds (spendable or not); contract outputs are no longer the wallet's. */
export function holdings(wallet: Wallet): number {
  const b = wallet.balance();
  return b.confirmed + b.unconfirmed + b.immature + b.reserved;
}
