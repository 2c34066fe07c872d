import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet } from '../../src/wallet/wallet.ts';
import { WalletError } from '../../src/wallet/errors.ts';
import { openWalletDb } from '../../src/wallet/store.ts';
import { openDb } from '../../src/store/sqlite.ts';

const light = { log2N: 10, r: 8, p: 1 };
const ABANDON = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';

function tempDir(): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'satpost-wallet-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('create then open with the passphrase gives the same wallet; a wrong one is refused', () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'w.db');
    const w = Wallet.create({ db: path, passphrase: 'hunter2', network: 'mainnet', mnemonic: ABANDON, scrypt: light });
    assert.equal(w.accountXpub.slice(0, 4), 'zpub');
    const first = w.newReceiveAddress();
    assert.equal(first.address, 'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu');
    w.close();

    assert.throws(() => Wallet.open({ db: path, passphrase: 'hunter3' }), (e) => WalletError.is(e, 'WRONG_PASSPHRASE'));
    const again = Wallet.open({ db: path, passphrase: 'hunter2' });
    assert.equal(again.accountXpub, 'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs');
    // The receive counter survived: the next address is index 1, never index 0 again.
    assert.equal(again.newReceiveAddress().address, 'bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g');
    assert.deepEqual(again.revealMnemonic('hunter2'), { mnemonic: ABANDON, bip39Passphrase: '' });
    assert.throws(() => again.revealMnemonic('nope'), (e) => WalletError.is(e, 'WRONG_PASSPHRASE'));
    again.close();
  } finally {
    t.done();
  }
});

test('the mnemonic and BIP39 passphrase never reach the disk in clear', () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'w.db');
    const w = Wallet.create({
      db: path,
      passphrase: 'pw',
      network: 'regtest',
      mnemonic: ABANDON,
      bip39Passphrase: 'my-secret-extension',
      scrypt: light,
    });
    w.newReceiveAddress();
    w.close();
    for (const f of readdirSync(t.dir)) {
      const bytes = readFileSync(join(t.dir, f)).toString('latin1');
      // ('abandoned' is a word of the schema, so look for the phrase itself.)
      assert.ok(!bytes.includes('abandon abandon'), `${f} contains the mnemonic`);
      assert.ok(!bytes.includes('my-secret-extension'), `${f} contains the BIP39 passphrase`);
    }
    const w2 = Wallet.open({ db: path, passphrase: 'pw' });
    assert.equal(w2.revealMnemonic('pw').bip39Passphrase, 'my-secret-extension');
    w2.close();
  } finally {
    t.done();
  }
});

test('a generated wallet has a valid 12- or 24-word mnemonic and unique receive addresses', () => {
  for (const words of [12, 24] as const) {
    const w = Wallet.create({ db: ':memory:', passphrase: 'pw', network: 'regtest', words, scrypt: light });
    assert.equal(w.revealMnemonic('pw').mnemonic.split(' ').length, words);
    const addrs = new Set(Array.from({ length: 5 }, () => w.newReceiveAddress().address));
    assert.equal(addrs.size, 5);
    for (const a of addrs) assert.match(a, /^bcrt1q/);
    w.close();
  }
});

test('lifecycle refusals: existing wallet, missing wallet, network mismatch, bad mnemonic, no backend', async () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'w.db');
    assert.throws(() => Wallet.open({ db: path, passphrase: 'pw' }), (e) => WalletError.is(e, 'NO_WALLET'));
    Wallet.create({ db: path, passphrase: 'pw', network: 'regtest', scrypt: light }).close();
    assert.throws(
      () => Wallet.create({ db: path, passphrase: 'pw', network: 'regtest', scrypt: light }),
      (e) => WalletError.is(e, 'WALLET_EXISTS'),
    );
    assert.throws(() => Wallet.open({ db: path, passphrase: 'pw', network: 'mainnet' }), (e) => WalletError.is(e, 'NETWORK_MISMATCH'));
    assert.throws(
      () => Wallet.create({ db: ':memory:', passphrase: 'pw', network: 'regtest', mnemonic: 'abandon '.repeat(12), scrypt: light }),
      (e) => WalletError.is(e, 'BAD_MNEMONIC'),
    );
    const w = Wallet.open({ db: path, passphrase: 'pw' });
    await assert.rejects(() => w.sync(), (e) => WalletError.is(e, 'NO_BACKEND'));
    await assert.rejects(
      () => w.createTransaction({ outputs: [{ script: w.receiveAddress(0).script, amount: 1000 }] }),
      (e) => WalletError.is(e, 'NO_BACKEND'),
    );
    w.close();
  } finally {
    t.done();
  }
});

test('a restored wallet gives none of the contract keys the lost one gave out (relays would tie the two together)', () => {
  const t = tempDir();
  try {
    const lost = Wallet.create({ db: join(t.dir, 'lost.db'), passphrase: 'pw', network: 'regtest', mnemonic: ABANDON, scrypt: light });
    const given = new Set(Array.from({ length: 50 }, () => Buffer.from(lost.contractKey(lost.nextContractKeyIndex()).pubkey33).toString('hex')));
    lost.close();
    const starts: number[] = [];
    for (const name of ['a', 'b']) {
      const restored = Wallet.create({ db: join(t.dir, `${name}.db`), passphrase: 'pw', network: 'regtest', mnemonic: ABANDON, scrypt: light, restored: true });
      const first = restored.nextContractKeyIndex();
      starts.push(first);
      assert.ok(first >= 2 ** 24 && first < 2 ** 30, `starts far above a directory's keys: ${first}`);
      assert.equal(restored.nextContractKeyIndex(), first + 1);
      assert.equal(given.has(Buffer.from(restored.contractKey(first).pubkey33).toString('hex')), false);
      restored.close();
    }
    assert.notEqual(starts[0], starts[1], 'each restore starts somewhere else');
  } finally {
    t.done();
  }
});

test('contract key indexes are handed out once each, across restarts', () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'w.db');
    const w = Wallet.create({ db: path, passphrase: 'pw', network: 'regtest', mnemonic: ABANDON, scrypt: light });
    assert.equal(w.nextContractKeyIndex(), 0);
    assert.equal(w.nextContractKeyIndex(), 1);
    const k1 = w.contractKey(1);
    w.close();
    const w2 = Wallet.open({ db: path, passphrase: 'pw' });
    assert.equal(w2.nextContractKeyIndex(), 2);
    assert.deepEqual(w2.contractKey(1).pubkey33, k1.pubkey33);
    assert.equal(w2.contractKey(1).path, "m/1017'/1'/0'/1'");
    w2.close();
  } finally {
    t.done();
  }
});

test('an open database handle is migrated and left open; locks need real outpoints', () => {
  const db = openDb({ path: ':memory:', migrations: [] });
  const w = Wallet.create({ db, passphrase: 'pw', network: 'regtest', scrypt: light });
  assert.throws(() => w.lockUtxo('ab'.repeat(32), 0, 'x'), (e) => WalletError.is(e, 'UNKNOWN_OUTPOINT'));
  assert.throws(() => w.lockContractOutput({ txid: 'zz', vout: 0, amount: 1000, label: 'c' }), (e) => WalletError.is(e, 'UNKNOWN_OUTPOINT'));
  assert.throws(
    () => w.lockContractOutput({ txid: 'ab'.repeat(32), vout: 0, amount: 0, label: 'c' }),
    (e) => WalletError.is(e, 'BAD_AMOUNT'),
  );
  w.lockContractOutput({ txid: 'ab'.repeat(32), vout: 1, amount: 5000, label: 'htlc-1' });
  assert.equal(w.balance().lockedInContracts, 5000);
  assert.equal(w.releaseContractOutput('ab'.repeat(32), 1), true);
  assert.equal(w.releaseContractOutput('ab'.repeat(32), 1), false);
  assert.equal(w.balance().lockedInContracts, 0);
  w.close();
  assert.equal(db.open, true);
  // Re-adopting the same handle is idempotent (migrations already applied).
  assert.equal(openWalletDb(db).owned, false);
  db.close();
});

test('a closed wallet refuses every call with WALLET_CLOSED', async () => {
  const w = Wallet.create({ db: ':memory:', passphrase: 'pw', network: 'regtest', scrypt: light });
  w.close();
  w.close(); // idempotent
  assert.throws(() => w.balance(), (e) => WalletError.is(e, 'WALLET_CLOSED'));
  assert.throws(() => w.newReceiveAddress(), (e) => WalletError.is(e, 'WALLET_CLOSED'));
  assert.throws(() => w.nextContractKeyIndex(), (e) => WalletError.is(e, 'WALLET_CLOSED'));
  await assert.rejects(() => w.sync(), (e) => WalletError.is(e, 'WALLET_CLOSED'));
});
