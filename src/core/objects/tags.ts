/**
 * Message tags (docs/protocol.md, "Tags"): what a message is addressed by instead of a
 * per-user mailbox. Only the sender and the recipient can compute a tag; each is used for one
 * message; to anyone else tags are random 32-byte strings, unlinkable to each other, to a
 * user and to a conversation.
 *
 *   conversation tags:  s_i = H("satpost/v1/tag-secret" || seed || u32 i)
 *                       tag_i = H("satpost/v1/tag-of" || s_i)
 *   introduction tags:  s_e = H("satpost/v1/intro-secret" || identityKey33 || u32 e)
 *                       tag_e = H("satpost/v1/tag-of" || s_e),  e = the UTC day (introEpochOf)
 *
 * `seed` is 32 random bytes the RECIPIENT chose for one contact and told that contact inside
 * the end-to-end encrypted conversation (MessagePlain.reply.seed): as in SimpleX, where the
 * recipient creates the queue a contact writes to. Until a sender has her contact's seed (before
 * the first reply), she writes to the recipient's introduction tag of the day, which anyone
 * holding the public address can compute: first contact is the one thing tied to an address.
 *
 * The secret s is what proves a right to fetch (the relay checks H(tag-domain || s) = tag):
 * a tag travels in offers and queries, its secret only to the relay that stores the message.
 * An introduction secret is computable from the address, so it protects nothing more than the
 * sealing already does; a conversation secret keeps everyone but the two parties from fetching.
 */
import { u32 } from '../codec.ts';
import { bytesEqual, taggedHash } from '../hash.ts';
import { identityKey } from './fields.ts';

/** One introduction epoch: a UTC day. */
export const INTRO_EPOCH_MS = 86_400_000;

/** Epochs back (besides the current one and the next, for clock skew) a recipient asks for: a week of first contacts. */
export const INTRO_LOOKBACK_EPOCHS = 7;

/** Tags a recipient asks for ahead of the highest index found from a contact. */
export const TAG_WINDOW = 8;

/** Missing indices below the highest found that a recipient keeps asking for, per contact (the oldest are dropped). */
export const MAX_TAG_GAPS = 32;

/**
 * A sender who has used this many indices past the last one her contact acknowledged
 * (MessagePlain.reply.ack) writes to the introduction tag instead, carrying her index (seq):
 * however many of her messages were lost, the recipient finds this one and moves her window.
 */
export const TAG_RESYNC_AFTER = 32;

/** MessagePlain.tags.seq of a message sent before its sender had the recipient's seed: no index. */
export const NO_SEQ = 0xffff_ffff;

const SEED_BYTES = 32;
const u32c = u32('index');

function checkSeed(seed: Uint8Array): void {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_BYTES) throw new RangeError(`a tag seed is ${SEED_BYTES} bytes, got ${seed?.length}`);
}

/** s_i for conversation seed `seed`. */
export function tagSecret(seed: Uint8Array, index: number): Uint8Array {
  checkSeed(seed);
  return taggedHash('tag-secret', seed, u32c.encode(index));
}

/** The tag a secret proves: H("satpost/v1/tag-of" || s). */
export function tagOfSecret(secret: Uint8Array): Uint8Array {
  if (!(secret instanceof Uint8Array) || secret.length !== 32) throw new RangeError(`a tag secret is 32 bytes, got ${secret?.length}`);
  return taggedHash('tag-of', secret);
}

/** Whether `secret` is the secret of `tag`. */
export function secretOpensTag(secret: Uint8Array, tag: Uint8Array): boolean {
  return secret.length === 32 && tag.length === 32 && bytesEqual(tagOfSecret(secret), tag);
}

/** The UTC day of `now` (ms). */
export function introEpochOf(now: number): number {
  return Math.floor(now / INTRO_EPOCH_MS);
}

/** s_e of the introduction tag of `identityKey33` for epoch e. */
export function introSecret(identityKey33: Uint8Array, epoch: number): Uint8Array {
  return taggedHash('intro-secret', identityKey().encode(identityKey33), u32c.encode(epoch));
}

/** The epochs a recipient asks for at `now`: the next, the current and INTRO_LOOKBACK_EPOCHS before. */
export function introEpochsAround(now: number): number[] {
  const e = introEpochOf(now);
  const out: number[] = [];
  for (let i = e + 1; i >= Math.max(0, e - INTRO_LOOKBACK_EPOCHS); i--) out.push(i);
  return out;
}

/** What a recipient tracks of one contact's incoming indices. */
export interface TagWindowState {
  /** Highest index found so far; -1 before the first. */
  high: number;
  /** Indices below `high` not found yet (ascending, at most MAX_TAG_GAPS). */
  gaps: number[];
}

/** The indices to ask for: the open gaps, then TAG_WINDOW past the highest found. */
export function windowIndices(w: TagWindowState): number[] {
  const out = [...w.gaps];
  for (let i = w.high + 1; i <= w.high + TAG_WINDOW; i++) out.push(i);
  return out;
}

/**
 * The window after index `found` turned up: a gap closes, or `high` moves and the skipped
 * indices become gaps (the newest MAX_TAG_GAPS are kept: a message lost for good must not keep
 * the window asking forever).
 */
export function windowAfterFound(w: TagWindowState, found: number): TagWindowState {
  if (!Number.isSafeInteger(found) || found < 0 || found >= NO_SEQ) return w;
  if (found <= w.high) return { high: w.high, gaps: w.gaps.filter((g) => g !== found) };
  const gaps = [...w.gaps];
  for (let i = w.high + 1; i < found; i++) gaps.push(i);
  return { high: found, gaps: gaps.slice(-MAX_TAG_GAPS) };
}
