// The relay store's in-memory quotes: served without a disk read, "unused" only while no
// deposit claimed them, never for a quote read back from disk, and gone with sweep.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { RelayStore, type QuoteRow } from '../../src/relay/store.ts';

const rnd = (n: number) => new Uint8Array(randomBytes(n));
const T0 = 1_800_000_000_000;

function quote(validUntil: number, expiresAt: number): QuoteRow {
  return {
    quoteId: rnd(16), mailbox: rnd(32), mode: 'recipient-pays', size: 10, amount: 1000, locktime: 500, contractIndex: 0, keyAccount: 1,
    k: rnd(32), hk: rnd(32), expiresAt, validUntil, encoded: rnd(100),
  };
}

describe('RelayStore quotes in memory', () => {
  let dir: string;
  let path: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'satpost-relay-store-'));
    path = join(dir, 'relay.sqlite');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a committed quote is unused until a deposit claims it; a quote from disk never counts as unused', async () => {
    const a = new RelayStore({ path, synchronous: 'FULL', batchMax: 10 });
    const q = quote(T0 + 60_000, T0 + 3_600_000);
    assert.equal(a.quoteUnused(q.quoteId), false, 'before its commit');
    await a.putQuote(q);
    assert.equal(a.quoteUnused(q.quoteId), true);
    assert.deepEqual(a.getQuote(q.quoteId), q);
    a.claimQuote(q.quoteId);
    assert.equal(a.quoteUnused(q.quoteId), false, 'claimed');
    assert.deepEqual(a.getQuote(q.quoteId), q, 'still served');
    assert.equal(a.quoteUnused(rnd(16)), false, 'unknown quote');
    await a.close();

    const b = new RelayStore({ path, synchronous: 'FULL', batchMax: 10 });
    try {
      assert.deepEqual(b.getQuote(q.quoteId), q, 'read back from disk after a restart');
      assert.equal(b.quoteUnused(q.quoteId), false, 'a message may exist for a quote this process did not issue');
    } finally {
      await b.close();
    }
  });

  it('sweep forgets lapsed quotes, so they are unknown afterwards', async () => {
    const s = new RelayStore({ path, synchronous: 'FULL', batchMax: 10 });
    try {
      const lapsed = quote(T0 + 1_000, T0 + 3_600_000);
      const live = quote(T0 + 60_000, T0 + 3_600_000);
      await s.putQuote(lapsed);
      await s.putQuote(live);
      await s.sweep(T0 + 2_000);
      assert.equal(s.getQuote(lapsed.quoteId), undefined);
      assert.equal(s.quoteUnused(lapsed.quoteId), false);
      assert.deepEqual(s.getQuote(live.quoteId), live);
      assert.equal(s.quoteUnused(live.quoteId), true, 'an untouched quote keeps its state');
    } finally {
      await s.close();
    }
  });
});
