// The relay store's in-memory quotes: served without a disk read, "unused" only while no
// deposit claimed them, never for a quote read back from disk, and gone with sweep.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openDb } from '../../src/store/sqlite.ts';
import { RelayError } from '../../src/relay/errors.ts';
import { MIGRATIONS, RelayStore, type MessageRow, type Quota, type QuoteRow } from '../../src/relay/store.ts';

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

describe('RelayStore paid and unpaid accounting', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'satpost-relay-quota-store-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const QUOTA: Quota = { paid: { maxCount: 100, maxBytes: 1e6 }, unpaid: { maxCount: 100, maxBytes: 1e6 }, depositor: { maxCount: 1, maxBytes: 1e6 } };
  const refusal = (code: string) => (err: unknown) => RelayError.is(err) && err.code === code;

  it('migration 4 splits earlier messages by what their rows say was paid, and sweep takes each from its own account', async () => {
    const path = join(dir, 'v2.sqlite');
    const mailbox = rnd(32);
    // Rows written by a relay before migrations 3 and 4 (schema version 2).
    const old = openDb({ path, migrations: MIGRATIONS.slice(0, 2) });
    const rows: [string, string, string | null, string | null][] = [
      // mode, state, contract_id, funding_txid
      ['recipient-pays', 'stored', null, null], // unpaid
      ['sender-pays', 'funding-pending', 'c1', null], // unpaid: no funding seen
      ['recipient-pays', 'stored', 'c2', null], // paid: a PaymentNotice bound it
      ['sender-pays', 'funding-pending', 'c3', 'ab'.repeat(32)], // paid: funding given
      ['sender-pays', 'stored', null, null], // paid: confirmed or a channel HTLC
      ['recipient-pays', 'unlocked', null, null], // paid: k released
    ];
    const ids: Uint8Array[] = [];
    rows.forEach(([mode, state, contract, funding], i) => {
      const id = rnd(32);
      const quoteId = rnd(16);
      ids.push(id);
      old.prepare(`INSERT INTO quotes VALUES (?, ?, ?, 10, 1000, 500, ?, ?, ?, ?, ?, ?)`).run(quoteId, mailbox, mode, i, rnd(32), rnd(32), T0 + 1000, T0, rnd(50));
      old.prepare(`INSERT INTO messages (id, quote_id, mailbox, mode, sealed_header, blob, hblob, hk, hc, funding_txid, expires_at, state, created_at, receipt, deposit_digest, contract_id)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(id, quoteId, mailbox, mode, rnd(10), rnd(100 + i), rnd(32), rnd(32), rnd(32), funding, T0 + 1000, state, T0, rnd(50), rnd(32), contract);
    });
    old.prepare(`INSERT INTO mailboxes VALUES (?, 6, ?)`).run(mailbox, 600 + 15);
    old.close();

    const s = new RelayStore({ path, synchronous: 'FULL', batchMax: 10 });
    try {
      const u = s.mailboxUsage(mailbox);
      assert.deepEqual([u.unpaid, u.paid], [{ count: 2, bytes: 201 }, { count: 4, bytes: 414 }]);
      assert.deepEqual([s.message(ids[0]!)!.paid, s.message(ids[2]!)!.paid], [false, true]);
      await s.markPaid(ids[1]!);
      await s.markPaid(ids[2]!); // already paid: nothing moves
      const v = s.mailboxUsage(mailbox);
      assert.deepEqual([v.unpaid, v.paid], [{ count: 1, bytes: 100 }, { count: 5, bytes: 515 }]);
      assert.equal((await s.sweep(T0 + 1000)).length, 6);
      const w = s.mailboxUsage(mailbox);
      assert.deepEqual([w.count, w.bytes], [0, 0]);
      assert.deepEqual(s.totals(), { messages: 0, bytes: 0 });
    } finally {
      await s.close();
    }
  });

  it('a depositor\'s unpaid allowance frees when its message is paid, and its tag is dropped', async () => {
    const s = new RelayStore({ path: join(dir, 'depositor.sqlite'), synchronous: 'FULL', batchMax: 10 });
    try {
      const depositor = rnd(16);
      const q = quote(T0 + 60_000, T0 + 3_600_000);
      await s.putQuote(q);
      const m: MessageRow = {
        id: rnd(32), quoteId: q.quoteId, mailbox: q.mailbox, mode: 'recipient-pays', sealedHeader: rnd(10), blob: rnd(26), hblob: rnd(32), hk: q.hk, hc: rnd(32),
        hr: undefined, fundingTxid: undefined, fundingVout: undefined, payerPubkey: undefined, contractId: undefined, expiresAt: q.expiresAt, state: 'stored',
        createdAt: T0, receipt: rnd(50), depositDigest: rnd(32), paid: false, depositor,
      };
      await s.putMessage(m, QUOTA);
      assert.throws(() => s.checkRoom(rnd(32), 26, false, depositor, QUOTA), refusal('DEPOSITOR_QUOTA_FULL'), 'any mailbox');
      s.checkRoom(rnd(32), 26, false, rnd(16), QUOTA); // another depositor
      s.checkRoom(rnd(32), 26, true, undefined, QUOTA); // paid mail has no depositor
      await s.setState(m.id, 'unlocked');
      s.checkRoom(rnd(32), 26, false, depositor, QUOTA);
      assert.equal(s.message(m.id)!.depositor, undefined, 'a paid message keeps no trace of its depositor');
      assert.deepEqual(s.mailboxUsage(q.mailbox).paid, { count: 1, bytes: 26 });
    } finally {
      await s.close();
    }
  });
});
