/** Everything the story's steps share: the chain, the relay network, the two users and the narrator. */
import type { Devnet } from '../chain/devnet/devnet.ts';
import type { Client } from '../client/index.ts';
import { DemoError } from './errors.ts';
import type { Narrator } from './narrator.ts';
import type { DemoRelay } from './relays.ts';

export interface World {
  n: Narrator;
  devnet: Devnet;
  relays: DemoRelay[];
  alice: Client;
  carol: Client;
}

/** The relay serving `url` (URLs compared without trailing slashes). */
export function relayAt(w: World, url: string): DemoRelay {
  const u = url.replace(/\/+$/, '');
  const r = w.relays.find((x) => x.url === u);
  if (!r) throw new DemoError('STORY_MISMATCH', `${u} is none of the story's relays (${w.relays.map((x) => x.url).join(', ')})`);
  return r;
}

/** The demo is the miner: one block, narrated. Wallets and relays see it at their next chain read. */
export function mineBlock(w: World, why: string): void {
  const [hash] = w.devnet.mine(1);
  w.n.say(`the demo mines a block confirming ${why}: height ${w.devnet.tip().height} (${hash!.slice(0, 16)}…)`);
}

/** Everything a wallet holds (spendable or not); contract outputs are no longer the wallet's. */
export async function holdings(c: Client): Promise<number> {
  const b = await c.balance();
  return b.confirmed + b.unconfirmed + b.immature + b.reserved;
}
