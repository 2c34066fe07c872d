// The contract book on its own: shares the party file with the wallet, keeps its own schema
// version, re-derives terms from the stored script, and records every change in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { buildContractScript, type ContractTerms } from '../../src/contracts/index.ts';
import { migrateStore } from '../../src/store/sqlite.ts';
import { ContractBook, CONTRACT_MIGRATIONS, contractId } from '../../src/watch/book.ts';
import { openPartyDb } from '../../src/watch/party-db.ts';

const pub = (n: number) => secp256k1.getPublicKey(sha256(Uint8Array.of(n)), true);
const terms: ContractTerms = { mode: 'sender-pays', hk: sha256(Uint8Array.of(1)), hr: sha256(Uint8Array.of(2)), relayPubkey: pub(3), payerPubkey: pub(4), locktime: 500 };

test('the book lives next to the wallet schema, survives reopening, and refuses a newer schema', () => {
  const dir = mkdtempSync(join(tmpdir(), 'satpost-book-'));
  try {
    const path = join(dir, 'party.sqlite');
    let db = openPartyDb(path);
    let t = 1_000;
    let book = new ContractBook(db, () => t++);
    const script = buildContractScript(terms);
    const c = book.insert({ role: 'relay', script, amount: 5_000, keyIndex: 2, state: 'quoted', k: Uint8Array.of(9), height: 100 });
    assert.equal(c.id, contractId(script));
    assert.deepEqual(c.terms, terms, 'terms are re-derived from the stored script');
    book.transition(c.id, 'funding-seen', { height: 101, patch: { fundingTxid: 'aa'.repeat(32), fundingVout: 3 } });
    book.update(c.id, { r: Uint8Array.of(7) }, 'receipt', 101);
    db.close();

    db = openPartyDb(path); // the wallet's migrations (user_version) and the book's (store_versions) coexist
    book = new ContractBook(db, () => t++);
    const again = book.get(c.id);
    assert.deepEqual([again.state, again.fundingTxid, again.fundingVout, again.k, again.r], ['funded', 'aa'.repeat(32), 3, Uint8Array.of(9), Uint8Array.of(7)]);
    assert.deepEqual(book.history(c.id).map((e) => [e.event, e.from, e.to, e.height]), [
      ['created', null, 'quoted', 100],
      ['funding-seen', 'quoted', 'funded', 101],
      ['receipt', 'funded', 'funded', 101],
    ]);
    assert.ok(book.history(c.id).every((e, i, all) => i === 0 || e.time > all[i - 1]!.time));
    assert.deepEqual(book.active('relay', 200, 6).map((x) => x.id), [c.id]);
    assert.deepEqual(book.active('payer', 200, 6), []);
    db.prepare("UPDATE store_versions SET version = ? WHERE store = 'contracts'").run(CONTRACT_MIGRATIONS.length + 1);
    assert.throws(() => migrateStore(db, 'contracts', CONTRACT_MIGRATIONS), (e: unknown) => (e as { code?: string }).code === 'SCHEMA_TOO_NEW');
    assert.throws(() => book.insert({ role: 'relay', script: script.slice(2), amount: 5_000, keyIndex: 2, state: 'quoted' }),
      (e: unknown) => (e as { code?: string }).code === 'NOT_A_CONTRACT');
    assert.throws(() => book.insert({ role: 'relay', script, id: 'x', amount: 0, keyIndex: 2, state: 'quoted' }),
      (e: unknown) => (e as { code?: string }).code === 'BAD_INPUT');
    assert.throws(() => book.get('nope'), (e: unknown) => (e as { code?: string }).code === 'UNKNOWN_CONTRACT');
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('active(): the contracts not final yet, and the final ones settled fewer than reorgDepth blocks below the tip', () => {
  const dir = mkdtempSync(join(tmpdir(), 'satpost-book-'));
  try {
    const db = openPartyDb(join(dir, 'party.sqlite'));
    let t = 1_000;
    const book = new ContractBook(db, () => t++); // listed in the order they were made
    const rows: [state: string, settledHeight: number | null][] = [
      ['funded', null],
      ['claimed', 195], // 6 blocks deep at tip 200: a reorg of 6 no longer reaches it
      ['claimed', 196], // 5 deep: still watched
      ['refunded', null],
      ['expired', null],
      ['abandoned', null],
    ];
    const ids = rows.map(([state, settled], i) => {
      const c = book.insert({ role: 'payer', script: buildContractScript({ ...terms, locktime: 600 + i }), amount: 5_000, keyIndex: i, state: 'created' });
      db.prepare('UPDATE contracts SET state = ?, settled_height = ? WHERE id = ?').run(state, settled, c.id);
      return c.id;
    });
    const active = book.active('payer', 200, 6);
    assert.deepEqual(active.map((c) => c.id), [ids[0], ids[2], ids[3]]);
    assert.deepEqual(active.map((c) => c.terms.locktime), [600, 602, 603], 'the records carry their terms');
    assert.equal(book.list('payer').length, rows.length);
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
