/**
 * Lookups through the relay network (docs/protocol.md "Relay network", docs/relay-api.md
 * "Lookups"): who holds a contact's prekey bundle, and which relays exist on what terms.
 * The client picks the lookup id, so every answer it accepts was signed for this lookup by
 * the relay it names (Ed25519 node key = relay id); answers that fail that check are
 * dropped and counted as `forged`. The relay asked can still withhold answers: ask several.
 */
import { randomBytes } from 'node:crypto';
import { hex } from '@scure/base';
import { expected } from '../core/errors.ts';
import type { Ed25519 } from '../core/ed25519.ts';
import { nodeEd25519 } from '../crypto/ed25519-node.ts';
import { IdentityError } from '../identity/errors.ts';
import { verifyBundle } from '../identity/bundle.ts';
import { type PrekeyBundle } from '../core/objects/prekey-bundle.ts';
import { openLookupAnswer, type LookupAnswer, type RelayTerms } from '../core/wire/lookup-answer.ts';
import type { LookupKind } from '../core/wire/p2p.ts';
import { ClientError } from './errors.ts';
import type { MailContext } from './mail-context.ts';
import { RelayClient } from './relay-client.ts';

/** A relay that says it holds a prekey bundle for the mailbox (fetch it at `url`). */
export interface BundleHolder {
  relayId: string;
  url: string;
  oneTimePreKeys: number;
  kyberPreKeys: number;
}

/** A relay of the network and its terms, as it signed them. */
export interface RelayListing extends RelayTerms {
  relayId: string;
  url: string;
}

export interface LookupResult<T> {
  /** Hex lookup id the answers were signed for. */
  lookupId: string;
  /** One entry per relay, in the order the relay asked returned them (its own first). */
  found: T[];
  /** Answers dropped: undecodable, for another lookup, or not signed by the relay they name. */
  forged: number;
}

export interface LookupCallOptions {
  /** Hop limit (the relay lowers it to its own). Default: the relay's (3). */
  hops?: number;
  signal?: AbortSignal;
  /** Checks signatures. Default: node:crypto's Ed25519. */
  ed?: Ed25519;
  /** Randomness for the lookup id. Default: node:crypto. */
  random?: (n: number) => Uint8Array;
}

type RelayLike = RelayClient | string;

const clientOf = (r: RelayLike): RelayClient => (typeof r === 'string' ? new RelayClient(r) : r);
const defaultRandom = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const ZERO = new Uint8Array(32);

async function lookup(
  relay: RelayLike,
  kind: LookupKind,
  target: Uint8Array,
  o: LookupCallOptions,
): Promise<{ lookupId: string; answers: LookupAnswer[]; forged: number } | undefined> {
  const client = clientOf(relay);
  const lookupId = (o.random ?? defaultRandom)(16);
  const call = { lookupId, ...(o.hops !== undefined ? { hops: o.hops } : {}) };
  const raw = kind === 'prekeys' ? await client.lookupPrekeys(target, call, o.signal) : await client.lookupRelays(call, o.signal);
  if (raw === undefined) return undefined;
  const ed = o.ed ?? nodeEd25519();
  const answers: LookupAnswer[] = [];
  const seen = new Set<string>();
  let forged = 0;
  for (const bytes of raw) {
    const a = openLookupAnswer(bytes, { kind, lookupId, target }, ed);
    if (a === undefined) {
      forged++;
      continue;
    }
    const id = hex.encode(a.relayId);
    if (seen.has(id)) continue; // a repeat of a good answer adds nothing
    seen.add(id);
    answers.push(a);
  }
  return { lookupId: hex.encode(lookupId), answers, forged };
}

function checkMailbox(mailbox: Uint8Array): void {
  if (!(mailbox instanceof Uint8Array) || mailbox.length !== 32) throw new ClientError('BAD_REQUEST', expected('mailbox', '32 bytes', mailbox));
}

/**
 * The relays of the network (within the hop limit) that hold a prekey bundle for `mailbox`,
 * asked through `relay`. Undefined when that relay has no network (P2P_OFF, or an older
 * relay). Throws ClientError BAD_REQUEST (mailbox not 32 bytes), RELAY_UNREACHABLE,
 * BAD_RELAY_ANSWER, CANCELLED, or the relay's refusal.
 */
export async function findBundleHolders(relay: RelayLike, mailbox: Uint8Array, o: LookupCallOptions = {}): Promise<LookupResult<BundleHolder> | undefined> {
  checkMailbox(mailbox);
  const out = await lookup(relay, 'prekeys', mailbox, o);
  if (out === undefined) return undefined;
  const found = out.answers.flatMap((a) => (a.kind === 'prekeys' ? [{ relayId: hex.encode(a.relayId), url: a.url, ...a.prekeys }] : []));
  return { lookupId: out.lookupId, found, forged: out.forged };
}

/** The relays of the network (within the hop limit) and their signed terms, asked through `relay`. */
export async function findRelays(relay: RelayLike, o: LookupCallOptions = {}): Promise<LookupResult<RelayListing> | undefined> {
  const out = await lookup(relay, 'relay-info', ZERO, o);
  if (out === undefined) return undefined;
  const found = out.answers.flatMap((a) => (a.kind === 'relay-info' ? [{ relayId: hex.encode(a.relayId), url: a.url, ...a.relay }] : []));
  return { lookupId: out.lookupId, found, forged: out.forged };
}

/**
 * A prekey bundle for `mailbox` found through the relay network: asks the network through
 * each of the user's relays (ctx.relays, in order) until one names holders, then GETs the
 * bundle from the holders (most one-time prekeys first) until one serves a bundle that
 * passes verifyBundle for this mailbox. That GET takes one one-time prekey from that holder,
 * as a direct fetch would; the lookup itself takes none.
 *
 * Undefined when no holder is found or none serves a valid bundle (unreachable relays, relays
 * without a network and bad bundles are skipped). Throws ClientError CANCELLED when `signal`
 * aborts, BAD_REQUEST when mailbox is not 32 bytes.
 */
export async function bundleFromNetwork(
  ctx: Pick<MailContext, 'relays' | 'relay' | 'ed' | 'random'>,
  mailbox: Uint8Array,
  signal?: AbortSignal,
): Promise<PrekeyBundle | undefined> {
  checkMailbox(mailbox);
  const tried = new Set<string>();
  for (const url of ctx.relays) {
    let holders: BundleHolder[];
    try {
      holders = (await findBundleHolders(ctx.relay(url), mailbox, { ed: ctx.ed, random: ctx.random, ...(signal ? { signal } : {}) }))?.found ?? [];
    } catch (err) {
      if (signal?.aborted) throw cancelled(err);
      continue;
    }
    holders.sort((a, b) => b.oneTimePreKeys - a.oneTimePreKeys || b.kyberPreKeys - a.kyberPreKeys);
    for (const h of holders) {
      if (tried.has(h.relayId)) continue;
      tried.add(h.relayId);
      try {
        const bundle = await ctx.relay(h.url).fetchPrekeys(mailbox, signal);
        verifyBundle(bundle, mailbox);
        return bundle;
      } catch (err) {
        if (signal?.aborted) throw cancelled(err);
        if (err instanceof ClientError || err instanceof IdentityError) continue;
        throw err;
      }
    }
  }
  return undefined;
}

function cancelled(err: unknown): ClientError {
  return ClientError.is(err, 'CANCELLED') ? err : new ClientError('CANCELLED', 'bundle lookup aborted', { cause: err });
}
