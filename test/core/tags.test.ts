// Message tags (src/core/objects/tags.ts): derivations, windows and introduction epochs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256 } from '@noble/hashes/sha2.js';
import { EncodingError } from '../../src/core/codec.ts';
import * as O from '../../src/core/objects/index.ts';
import * as S from './samples.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const te = new TextEncoder();
const u32be = (n: number): Uint8Array => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);

test('tagSecret, tagOfSecret and introSecret are deterministic and follow the documented hashes', () => {
  const seed = S.det('seed', 32);
  assert.deepEqual(O.tagSecret(seed, 5), O.tagSecret(Uint8Array.from(seed), 5));
  assert.deepEqual(O.tagSecret(seed, 5), sha256(Uint8Array.of(...te.encode('satpost/v1/tag-secret'), ...seed, ...u32be(5))));
  const s = O.tagSecret(seed, 5);
  assert.deepEqual(O.tagOfSecret(s), sha256(Uint8Array.of(...te.encode('satpost/v1/tag-of'), ...s)));
  assert.deepEqual(O.introSecret(S.identityKey33, 20_000), sha256(Uint8Array.of(...te.encode('satpost/v1/intro-secret'), ...S.identityKey33, ...u32be(20_000))));
  assert.equal(O.tagSecret(seed, 0).length, 32);
  assert.equal(O.tagOfSecret(s).length, 32);
});

test('domain separation: another seed, index or epoch gives another tag; a tag never equals its secret nor any secret of the set', () => {
  const seeds = [S.det('seed a', 32), S.det('seed b', 32)];
  const keys = [S.identityKey33, S.senderKey33];
  const secrets: Uint8Array[] = [];
  for (const seed of seeds) for (const i of [0, 1, 2, 7, 8, 1000, 0xffff_fffe]) secrets.push(O.tagSecret(seed, i));
  for (const key of keys) for (const e of [0, 1, 20_000, 20_001]) secrets.push(O.introSecret(key, e));
  const tags = secrets.map(O.tagOfSecret);
  const all = new Set([...secrets, ...tags].map(hex));
  assert.equal(all.size, secrets.length + tags.length, 'no secret or tag repeats, and no tag equals any secret');
  for (let i = 0; i < secrets.length; i++) assert.notDeepEqual(tags[i], secrets[i]);
  // The three domains differ on the same input: a conversation secret of seed X at index i is not
  // the introduction secret of any key, and the tag of a secret is not a secret of the same input.
  const same = S.det('shared', 32);
  assert.notDeepEqual(O.tagSecret(same, 3), O.tagOfSecret(same));
  assert.notDeepEqual(O.introSecret(Uint8Array.of(5, ...same), 3), O.tagSecret(same, 3));
  // Tags of successive indices are unrelated to each other to anyone without the seed: no common prefix.
  assert.notEqual(hex(O.tagOfSecret(O.tagSecret(same, 0))).slice(0, 8), hex(O.tagOfSecret(O.tagSecret(same, 1))).slice(0, 8));
});

test('derivations refuse malformed input with a clear error', () => {
  assert.throws(() => O.tagSecret(new Uint8Array(31), 0), /tag seed is 32 bytes, got 31/);
  assert.throws(() => O.tagSecret(new Uint8Array(33), 0), RangeError);
  assert.throws(() => O.tagOfSecret(new Uint8Array(16)), /tag secret is 32 bytes, got 16/);
  assert.throws(() => O.tagSecret(S.det('seed', 32), -1), (e) => EncodingError.is(e, 'BAD_VALUE'));
  assert.throws(() => O.tagSecret(S.det('seed', 32), 2 ** 32), (e) => EncodingError.is(e, 'BAD_VALUE'));
  assert.throws(() => O.introSecret(Uint8Array.of(4, ...S.det('k', 32)), 0), (e) => EncodingError.is(e, 'BAD_VALUE'));
});

test('secretOpensTag: only the secret of a tag opens it', () => {
  const s = O.tagSecret(S.tagSeed, 0);
  assert.equal(O.secretOpensTag(s, S.tag0), true);
  assert.equal(O.secretOpensTag(s, S.tag1), false);
  assert.equal(O.secretOpensTag(O.tagSecret(S.tagSeed, 1), S.tag1), true);
  // The tag itself, a flipped secret, and the introduction secret of the day do not open it.
  assert.equal(O.secretOpensTag(S.tag0, S.tag0), false);
  assert.equal(O.secretOpensTag(Uint8Array.from(s, (b, i) => (i === 31 ? b ^ 1 : b)), S.tag0), false);
  const e = O.introEpochOf(1_750_000_000_000);
  assert.equal(O.secretOpensTag(O.introSecret(S.identityKey33, e), O.tagOfSecret(O.introSecret(S.identityKey33, e))), true);
  assert.equal(O.secretOpensTag(O.introSecret(S.identityKey33, e), O.tagOfSecret(O.introSecret(S.identityKey33, e + 1))), false);
  // Wrong lengths are a plain false, never a throw.
  assert.equal(O.secretOpensTag(s.subarray(0, 31), S.tag0), false);
  assert.equal(O.secretOpensTag(s, S.tag0.subarray(1)), false);
  assert.equal(O.secretOpensTag(new Uint8Array(0), new Uint8Array(0)), false);
});

test('introEpochOf and introEpochsAround: the next day, today and a week back, newest first, never below 0', () => {
  const day = O.INTRO_EPOCH_MS;
  assert.equal(O.introEpochOf(0), 0);
  assert.equal(O.introEpochOf(day - 1), 0);
  assert.equal(O.introEpochOf(day), 1);
  const now = 20_000 * day + 12 * 3_600_000;
  const around = O.introEpochsAround(now);
  assert.deepEqual(around, [20_001, 20_000, 19_999, 19_998, 19_997, 19_996, 19_995, 19_994, 19_993]);
  assert.equal(around.length, O.INTRO_LOOKBACK_EPOCHS + 2);
  // Clock skew: a sender a few minutes ahead past midnight writes to epoch e+1, which the recipient still asks for.
  assert.ok(around.includes(O.introEpochOf(now + 12 * 3_600_000 + 5 * 60_000)));
  // A message written a week ago is still asked for; eight days ago is not.
  assert.ok(around.includes(O.introEpochOf(now - 7 * day)));
  assert.equal(around.includes(O.introEpochOf(now - 8 * day)), false);
  // Near the epoch start the list stops at 0.
  assert.deepEqual(O.introEpochsAround(2 * day), [3, 2, 1, 0]);
  assert.deepEqual(O.introEpochsAround(0), [1, 0]);
});

test('windowIndices: the open gaps, then TAG_WINDOW indices past the highest found', () => {
  assert.deepEqual(O.windowIndices({ high: -1, gaps: [] }), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(O.windowIndices({ high: -1, gaps: [] }).length, O.TAG_WINDOW);
  assert.deepEqual(O.windowIndices({ high: 10, gaps: [4, 7] }), [4, 7, 11, 12, 13, 14, 15, 16, 17, 18]);
});

test('windowAfterFound: in order, a gap stays asked for until found, a far find is capped, NO_SEQ and junk are ignored', () => {
  const start: O.TagWindowState = { high: -1, gaps: [] };
  // In order: the window slides, no gaps.
  let w = O.windowAfterFound(start, 0);
  assert.deepEqual(w, { high: 0, gaps: [] });
  w = O.windowAfterFound(w, 1);
  assert.deepEqual(w, { high: 1, gaps: [] });
  // 2 lost (or late), 3 found: 2 becomes a gap and stays asked for.
  w = O.windowAfterFound(w, 3);
  assert.deepEqual(w, { high: 3, gaps: [2] });
  assert.ok(O.windowIndices(w).includes(2));
  assert.deepEqual(O.windowIndices(w), [2, 4, 5, 6, 7, 8, 9, 10, 11]);
  // Finding something again (a duplicate at or below high) changes nothing but a gap it closes.
  assert.deepEqual(O.windowAfterFound(w, 3), w);
  assert.deepEqual(O.windowAfterFound(w, 0), w);
  const closed = O.windowAfterFound(w, 2);
  assert.deepEqual(closed, { high: 3, gaps: [] });
  assert.equal(O.windowIndices(closed).includes(2), false);
  // The state is not mutated.
  assert.deepEqual(w, { high: 3, gaps: [2] });

  // A find far ahead (a resync through the introduction tag): the skipped indices become gaps, the newest MAX_TAG_GAPS kept.
  const far = O.windowAfterFound({ high: 3, gaps: [2] }, 3 + 100);
  assert.equal(far.high, 103);
  assert.equal(far.gaps.length, O.MAX_TAG_GAPS);
  assert.deepEqual(far.gaps, Array.from({ length: O.MAX_TAG_GAPS }, (_, i) => 103 - O.MAX_TAG_GAPS + i));
  assert.equal(far.gaps.includes(2), false, 'the oldest gap is dropped first');
  assert.equal(O.windowIndices(far).length, O.MAX_TAG_GAPS + O.TAG_WINDOW);
  // Just under the cap: every skipped index is a gap.
  const near = O.windowAfterFound({ high: -1, gaps: [] }, O.MAX_TAG_GAPS);
  assert.deepEqual(near.gaps, Array.from({ length: O.MAX_TAG_GAPS }, (_, i) => i));

  // NO_SEQ (a message sent before the sender had the seed) and values that are no index change nothing.
  for (const junk of [O.NO_SEQ, O.NO_SEQ + 1, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.deepEqual(O.windowAfterFound(w, junk), w, String(junk));
  }
  assert.deepEqual(O.windowAfterFound(start, O.NO_SEQ), start);
  // The highest index a sender can use is still a find.
  assert.equal(O.windowAfterFound({ high: O.NO_SEQ - 2, gaps: [] }, O.NO_SEQ - 1).high, O.NO_SEQ - 1);
});

test('the window and resync constants fit together', () => {
  // A sender resyncs through the introduction tag before her contact could have dropped the gaps of her lost messages.
  assert.ok(O.TAG_RESYNC_AFTER <= O.MAX_TAG_GAPS);
  assert.ok(O.TAG_WINDOW >= 1 && O.MAX_QUERY_TAGS >= 100 * O.TAG_WINDOW + O.INTRO_LOOKBACK_EPOCHS + 2);
  assert.equal(O.NO_SEQ, 0xffff_ffff);
});
