// ChannelBook on its own: the state JSON round trip, one transaction per change (all or
// nothing), every state kept and matched by its commitment txid, the schema version row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commitmentTxid } from '../../src/channels/index.ts';
import { openDb } from '../../src/store/sqlite.ts';
import { ChannelBook, stateFromJson, stateToJson } from '../../src/watch/channel-book.ts';
import { WatchError } from '../../src/watch/errors.ts';
import * as c from '../channels/helpers.ts';

function pair() {
  let p: c.Pair = c.openBoth();
  const x = c.htlcFor(1, 'sender-pays', 500);
  const y = c.htlcFor(2, 'recipient-pays', 600);
  const a = c.add(p, x.terms, 100);
  p = c.add(a, y.terms, 100);
  const afterAdds = p.payer;
  p = c.settle(p, a.id, x.k, x.r);
  return { afterAdds, latest: p.payer, x, y };
}

test('ChannelState survives the JSON round trip byte for byte (both modes, signature, order)', () => {
  const { afterAdds, latest } = pair();
  for (const s of [c.openBoth().payer, afterAdds, latest]) {
    const back = stateFromJson(stateToJson(s));
    assert.deepEqual(back, s);
    if (s.payerSig) assert.equal(commitmentTxid(back), commitmentTxid(s));
  }
});

test('apply is all or nothing; states, HTLCs, messages and history are kept; reopening keeps everything', () => {
  const db = openDb({ path: ':memory:', migrations: [] });
  const book = new ChannelBook(db);
  assert.deepEqual(db.prepare("SELECT version FROM store_versions WHERE store = 'channels'").get(), { version: 2 });
  const { afterAdds, latest } = pair();
  const s0 = c.openBoth().payer;
  book.insert({ role: 'payer', status: 'open', keyIndex: 0, state: s0 });
  assert.throws(() => book.insert({ role: 'payer', status: 'open', keyIndex: 0, state: s0 }), (e: unknown) => WatchError.is(e, 'DUPLICATE_CHANNEL'));
  assert.throws(() => book.get('ff'.repeat(32)), (e: unknown) => WatchError.is(e, 'UNKNOWN_CHANNEL'));
  assert.throws(() => book.insert({ role: 'payer', status: 'open', keyIndex: -1, state: { ...s0, id: 'x' } }), (e: unknown) => WatchError.is(e, 'BAD_INPUT'));

  book.apply(s0.id, { state: afterAdds, newHtlcs: afterAdds.inFlight });
  const before = { rec: book.get(s0.id), htlcs: book.htlcs(s0.id), history: book.history(s0.id) };
  // A patch naming an HTLC the channel does not have: the state change in the same call is rolled back too.
  assert.throws(() => book.apply(s0.id, { state: latest, status: 'closing-cooperative', htlcs: [{ htlcId: 99, status: 'settled' }] }), (e: unknown) => WatchError.is(e, 'BAD_INPUT'));
  assert.deepEqual({ rec: book.get(s0.id), htlcs: book.htlcs(s0.id), history: book.history(s0.id) }, before);
  assert.equal(book.stateAt(s0.id, latest.n), undefined);

  book.apply(s0.id, { state: latest, htlcs: [{ htlcId: 0, status: 'settled' }] });
  assert.equal(book.get(s0.id).n, latest.n);
  assert.deepEqual(book.stateAt(s0.id, afterAdds.n), afterAdds);
  assert.deepEqual(book.stateByCommitment(s0.id, commitmentTxid(afterAdds)), afterAdds, 'an older commitment is recognised');
  assert.equal(book.stateByCommitment(s0.id, 'ab'.repeat(32)), undefined);
  assert.deepEqual(book.htlcs(s0.id).map((h) => [h.id, h.status]), [[0, 'settled'], [1, 'in-flight']]);
  assert.deepEqual(book.active('payer', 0, 6).map((r) => r.id), [s0.id]);
  book.apply(s0.id, { status: 'closed-cooperative', patch: { settledHeight: 10 } });
  assert.deepEqual(book.active('payer', 14, 6).map((r) => r.id), [s0.id], 'final but shallow: still watched');
  assert.deepEqual(book.active('payer', 15, 6), [], 'six deep: forgotten');
  assert.deepEqual(book.history(s0.id).map((e) => [e.event, e.from, e.to]), [['created', null, 'open'], ['status-closed-cooperative', 'open', 'closed-cooperative']]);

  const again = new ChannelBook(db);
  assert.deepEqual(again.get(s0.id).state, latest);
  db.close();
});
