// Encryption at rest: what a thief of a data directory (or of its backup) can read from the
// files alone. Real client and relay data directories over a real devnet and relay; every file
// under them (databases, -wal, -shm, keys) is scanned byte for byte for the secrets, which are
// first read back through the directory's data key to prove they really are in there.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { PreKeyRecord, SignedPreKeyRecord } from '@signalapp/libsignal-client';
import { DevnetBackend } from '../../src/chain/devnet/backend.ts';
import { Client } from '../../src/client/client.ts';
import { ClientError } from '../../src/client/errors.ts';
import { DataDir } from '../../src/client/datadir.ts';
import { makeConfig } from '../../src/client/config.ts';
import { ClientStore } from '../../src/client/store.ts';
import { checkContactName } from '../../src/client/contacts.ts';
import { openIdentityDb } from '../../src/identity/db.ts';
import { createIdentity, unlockIdentity } from '../../src/identity/identity.ts';
import { PrekeyManager } from '../../src/identity/prekeys.ts';
import { takeForFetch } from '../../src/core/objects/prekey-bundle.ts';
import { Sessions } from '../../src/identity/session.ts';
import { SignalStores } from '../../src/identity/stores.ts';
import { RelayStore } from '../../src/relay/store.ts';
import { WalletError } from '../../src/wallet/errors.ts';
import { BackendChainPolicy } from '../../src/relay/chain-ports.ts';
import { DEFAULTS, finish } from '../../src/relay/config.ts';
import { loadOrCreateSecret, startRelay, type RelayHandle } from '../../src/relay/daemon.ts';
import { RelayError } from '../../src/relay/errors.ts';
import { DATA_KEY_FILE, unlockDataKey } from '../../src/store/data-key.ts';
import { StoreError, isPlaintextDb, openDb, type Db } from '../../src/store/sqlite.ts';
import { Wallet } from '../../src/wallet/index.ts';
import { generateMnemonic } from '../../src/wallet/keys.ts';
import { openPartyDb } from '../../src/watch/index.ts';
import { LIGHT_SCRYPT, startChain, tempDir, type Chain } from '../client/helpers.ts';
import { deposit, depositFor, getQuote, newIdentity, offer } from '../relay/helpers.ts';

const TEXT = 'Meet me at the lighthouse at 23:40, bring the brass key.';
const CONTACT = 'Wilhelmina_Quartermaine';
const FIXTURE = join(import.meta.dirname, 'fixtures', 'encrypt-crash.ts');

type Needles = Map<string, Uint8Array>;

/** Every file under `dir` with the hash of its content. */
const snapshot = (dir: string) => new Map(filesUnder(dir).map((f) => [f, createHash('sha256').update(readFileSync(f)).digest('hex')]));

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

/** "file: needle" for each needle found in clear in a file under `dir`. */
function plaintextFindings(dir: string, needles: Needles): string[] {
  const found: string[] = [];
  for (const file of filesUnder(dir)) {
    const bytes = readFileSync(file);
    for (const [label, needle] of needles) if (bytes.includes(Buffer.from(needle))) found.push(`${file.slice(dir.length + 1)}: ${label}`);
  }
  return found;
}

/** A database of a data directory read through its data key (plain when the directory has none). */
function openForReading(dir: string, file: string, passphrase: string): Db {
  const key = existsSync(join(dir, DATA_KEY_FILE)) ? unlockDataKey(dir, passphrase) : undefined;
  return openDb({ path: join(dir, file), migrations: [], readonly: true, ...(key ? { key } : {}) });
}

/** The user's secrets as the databases hold them: identity and prekey private keys, contact name, message, r. */
function clientSecrets(dir: string, passphrase: string): Needles {
  const needles: Needles = new Map([['message text', Buffer.from(TEXT)], ['contact name', Buffer.from(CONTACT)]]);
  const id = openForReading(dir, 'identity.sqlite', passphrase);
  try {
    needles.set('identity private key', unlockIdentity(id, passphrase).keyPair.privateKey.serialize());
    const pre = id.prepare('SELECT id, record FROM prekeys ORDER BY id LIMIT 5').all() as { id: number; record: Uint8Array }[];
    for (const p of pre) needles.set(`prekey ${p.id} private key`, PreKeyRecord.deserialize(new Uint8Array(p.record)).privateKey().serialize());
    const signed = id.prepare('SELECT id, record FROM signed_prekeys').all() as { id: number; record: Uint8Array }[];
    for (const s of signed) needles.set(`signed prekey ${s.id} private key`, SignedPreKeyRecord.deserialize(new Uint8Array(s.record)).privateKey().serialize());
  } finally {
    id.close();
  }
  const client = openForReading(dir, 'client.sqlite', passphrase);
  try {
    for (const o of client.prepare('SELECT id, r FROM outbox WHERE r IS NOT NULL').all() as { id: string; r: Uint8Array }[]) needles.set(`r of ${o.id}`, o.r);
  } finally {
    client.close();
  }
  return needles;
}

describe('encryption at rest', { timeout: 240_000 }, () => {
  let chain: Chain;
  let relay: RelayHandle;
  const tmp = tempDir('satpost-atrest-');
  const relayDir = join(tmp.dir, 'relay');
  const relayConfig = finish({
    ...DEFAULTS, port: 0, dataDir: relayDir, passphrase: 'relay-pw', rateLimitBurst: 0, logLevel: 'silent', p2p: false, lockBlocks: 30, claimMarginBlocks: 3,
  });
  const relayOverrides = () => {
    const backend = new DevnetBackend(chain.devnet);
    return { backend, chain: new BackendChainPolicy(backend, 0), log: pino({ level: 'silent' }), walletScrypt: LIGHT_SCRYPT };
  };

  before(async () => {
    chain = await startChain();
    relay = await startRelay({ ...relayConfig, chainUrl: chain.url }, relayOverrides());
  });
  after(async () => {
    await relay.stop();
    await chain.close();
    tmp.cleanup();
  });

  it("no plaintext secret is readable from the data directory's files", async () => {
    const make = async (name: string) =>
      (await Client.init({ dir: join(tmp.dir, name), passphrase: `pw-${name}`, network: 'regtest', chainUrl: chain.url, relays: [relay.url], scrypt: LIGHT_SCRYPT })).client;
    const alice = await make('alice');
    const carol = await make('carol');
    await carol.publish();
    await alice.addContact(CONTACT, carol.address());
    chain.fund(alice.walletAddress(), 100_000);
    const sent = await alice.send(CONTACT, { text: TEXT }, { mode: 'sender-pays', maxFee: 5_000, retentionDays: 0.1 });
    chain.devnet.mine(1);
    const { entries } = await carol.inbox();
    assert.deepEqual((await carol.read(entries[0]!.id)).message, { kind: 'text', text: TEXT });
    const aliceDir = join(tmp.dir, 'alice');
    const carolDir = join(tmp.dir, 'carol');
    // While the clients are open (their -wal and -shm files are there) and after they closed.
    for (const phase of ['open', 'closed']) {
      if (phase === 'closed') {
        await alice.close();
        await carol.close();
      }
      const aliceSecrets = clientSecrets(aliceDir, 'pw-alice');
      assert.ok(aliceSecrets.has(`r of ${sent.id}`), 'the sender-pays r is in the outbox');
      const carolSecrets = clientSecrets(carolDir, 'pw-carol');
      assert.deepEqual(plaintextFindings(aliceDir, aliceSecrets), [], `${phase}: nothing of Alice's in clear`);
      assert.deepEqual(plaintextFindings(carolDir, carolSecrets), [], `${phase}: nothing of Carol's in clear`);
    }
    // The message is in Carol's inbox: only encrypted.
    const inbox = openForReading(carolDir, 'client.sqlite', 'pw-carol');
    try {
      const content = (inbox.prepare('SELECT content FROM inbox').get() as { content: Uint8Array }).content;
      assert.ok(Buffer.from(content).includes(Buffer.from(TEXT)), 'the read message is stored');
    } finally {
      inbox.close();
    }
  });

  it("no plaintext secret is readable from the relay data directory's files", async () => {
    const carol = newIdentity();
    const needles: Needles = new Map([['tag', carol.mailbox]]);
    for (let i = 0; i < 3; i++) {
      const q = await getQuote(relay.url, offer(carol.mailbox, 300));
      const d = depositFor(q);
      await deposit(relay.url, d);
      needles.set(`k of quote ${i}`, relay.store.getQuote(q.quoteId)!.k);
      needles.set(`body ${i}`, d.body);
    }
    await relay.store.writer.drain();
    assert.deepEqual(plaintextFindings(relayDir, needles), [], 'while running');
    await relay.stop();
    assert.deepEqual(plaintextFindings(relayDir, needles), [], 'stopped');
    relay = await startRelay({ ...relayConfig, chainUrl: chain.url }, relayOverrides());
    for (const [label, k] of needles) if (label.startsWith('k of')) assert.ok(relay.store.db.prepare('SELECT 1 FROM quotes WHERE k = ?').get(k), `${label} survives a restart`);
  });

  it('a client directory from before encryption at rest is encrypted on its first unlock', async () => {
    const dir = join(tmp.dir, 'old-dave');
    const passphrase = 'pw-dave';
    const mnemonic = generateMnemonic((n) => new Uint8Array(32).fill(n));
    // What init wrote before this change: the same stores, opened without a key.
    const d = new DataDir(dir);
    d.ensure();
    const id = openIdentityDb(d.createPrivateFile('identity'));
    const identity = createIdentity(id, passphrase, { scrypt: LIGHT_SCRYPT });
    new PrekeyManager(id, identity).initialize(Date.now());
    id.close();
    const w = openPartyDb(d.createPrivateFile('wallet'));
    Wallet.create({ db: w, passphrase, network: 'regtest', mnemonic, scrypt: LIGHT_SCRYPT }).close();
    w.close();
    const store = ClientStore.open(d.createPrivateFile('client'));
    store.insertContact({ ...checkContactName(CONTACT), identityKey: newIdentity().identityKey, relayHints: [relay.url], now: Date.now() });
    store.close();
    d.writeConfig(makeConfig({ network: 'regtest', chainUrl: chain.url, relays: [relay.url] }));
    const databases = ['identity.sqlite', 'wallet.sqlite', 'client.sqlite'];
    for (const f of databases) assert.ok(isPlaintextDb(join(dir, f)), `${f} starts in clear`);
    const secrets = clientSecrets(dir, passphrase);
    assert.notDeepEqual(plaintextFindings(dir, secrets), [], 'the old format shows its secrets');

    const client = await Client.open({ dir, passphrase });
    const address = client.address();
    const balance = await client.balance();
    assert.equal(client.contacts()[0]!.name, CONTACT);
    await client.close();
    assert.ok(existsSync(join(dir, DATA_KEY_FILE)), 'a data key was made');
    for (const f of databases) {
      assert.equal(isPlaintextDb(join(dir, f)), false, `${f} is encrypted`);
      assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, `${f} stays private`);
    }
    assert.ok(!filesUnder(dir).some((f) => f.endsWith('.encrypting')), 'no copy left behind');
    assert.deepEqual(plaintextFindings(dir, clientSecrets(dir, passphrase)), []);
    const again = await Client.open({ dir, passphrase });
    assert.equal(again.address(), address, 'the same identity after the upgrade');
    assert.deepEqual(await again.balance(), balance, 'the same wallet after the upgrade');
    await again.close();
  });

  it('a relay directory from before encryption at rest is encrypted on its first start, after its passphrase is proved', async () => {
    const dir = join(tmp.dir, 'old-relay');
    const config = { ...relayConfig, dataDir: dir, passphrase: 'old-relay-pw', chainUrl: chain.url };
    // What a relay wrote before this change: its node key, wallet and store, opened without a key.
    const w = openPartyDb(join(dir, 'wallet.sqlite'));
    loadOrCreateSecret(join(dir, 'node-key'));
    const address = (() => {
      const wallet = Wallet.create({ db: w, passphrase: config.passphrase, network: 'regtest', scrypt: LIGHT_SCRYPT });
      const a = wallet.newReceiveAddress().address;
      wallet.close();
      return a;
    })();
    w.close();
    const k = newIdentity().mailbox;
    const plain = new RelayStore({ path: join(dir, 'relay.sqlite'), synchronous: 'FULL', batchMax: 10 });
    plain.db.prepare("INSERT INTO mailboxes (mailbox, count, bytes) VALUES (?, 0, 0)").run(k);
    await plain.close();
    const before = snapshot(dir);
    await assert.rejects(
      startRelay({ ...config, passphrase: 'wrong' }, relayOverrides()),
      (e: unknown) => RelayError.is(e, 'BAD_CONFIG') && WalletError.is(e.cause, 'WRONG_PASSPHRASE'),
    );
    assert.deepEqual(snapshot(dir), before, 'a wrong passphrase seals no data key and encrypts nothing');
    const started = await startRelay(config, relayOverrides());
    assert.ok(started.store.db.prepare('SELECT 1 FROM mailboxes WHERE mailbox = ?').get(k), 'the store kept its rows');
    await started.stop();
    for (const f of ['wallet.sqlite', 'relay.sqlite']) assert.equal(isPlaintextDb(join(dir, f)), false, `${f} is encrypted`);
    assert.deepEqual(plaintextFindings(dir, new Map([['tag', k]])), []);
    const wallet = openForReading(dir, 'wallet.sqlite', config.passphrase);
    try {
      assert.ok(wallet.prepare('SELECT 1 FROM addresses WHERE address = ?').get(address), 'the same wallet');
    } finally {
      wallet.close();
    }
  });

  it('the identity commit worker writes to an encrypted identity database', async () => {
    const key = new Uint8Array(32).fill(9);
    const user = (name: string) => {
      const db = openIdentityDb(join(tmp.dir, `${name}-worker.sqlite`), { key });
      const self = createIdentity(db, 'pw', { scrypt: LIGHT_SCRYPT });
      const prekeys = new PrekeyManager(db, self);
      prekeys.initialize(Date.now());
      const stores = new SignalStores(db, self, { writer: 'worker' });
      return { db, prekeys, stores, sessions: new Sessions(stores) };
    };
    const a = user('a');
    const c = user('c');
    const { fetched } = takeForFetch(c.prekeys.buildBundle(Date.now()));
    const first = await a.sessions.encryptTo('c', Buffer.from(TEXT), { bundle: fetched });
    assert.equal(Buffer.from(await c.sessions.decryptFrom('a', first)).toString(), TEXT);
    for (let i = 0; i < 5; i++) await c.sessions.decryptFrom('a', await a.sessions.encryptTo('c', Buffer.from(`${TEXT} ${i}`)));
    assert.ok(a.stores.stats.commits > 0);
    for (const u of [a, c]) {
      await u.stores.close();
      u.db.close();
    }
    const again = openIdentityDb(join(tmp.dir, 'a-worker.sqlite'), { key });
    try {
      assert.ok((again.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number }).n === 1, 'the worker committed the session, readable with the key');
    } finally {
      again.close();
    }
    assert.ok(!readFileSync(join(tmp.dir, 'a-worker.sqlite')).includes(Buffer.from('CREATE TABLE')), 'not even the schema is in clear');
  });

  it('a wrong passphrase is refused with a typed error and changes no file', async () => {
    const dir = join(tmp.dir, 'erin');
    const { client } = await Client.init({ dir, passphrase: 'pw-erin', network: 'regtest', chainUrl: chain.url, relays: [relay.url], scrypt: LIGHT_SCRYPT });
    await client.close();
    assert.ok(existsSync(join(dir, DATA_KEY_FILE)) && !isPlaintextDb(join(dir, 'client.sqlite')), 'an encrypted directory');
    const before = snapshot(dir);
    await assert.rejects(Client.open({ dir, passphrase: 'pw-eriN' }), (e: unknown) => ClientError.is(e, 'WRONG_PASSPHRASE') && StoreError.is(e.cause, 'WRONG_PASSPHRASE'));
    assert.deepEqual(snapshot(dir), before);

    await relay.stop();
    const relayBefore = snapshot(relayDir);
    await assert.rejects(
      startRelay({ ...relayConfig, passphrase: 'not-the-relay-pw', chainUrl: chain.url }, relayOverrides()),
      (e: unknown) => RelayError.is(e, 'BAD_CONFIG') && StoreError.is(e.cause, 'WRONG_PASSPHRASE'),
    );
    assert.deepEqual(snapshot(relayDir), relayBefore);
    relay = await startRelay({ ...relayConfig, chainUrl: chain.url }, relayOverrides());
  });

  it('a damaged database is told apart from a wrong passphrase', async () => {
    const dir = join(tmp.dir, 'frank');
    const { client } = await Client.init({ dir, passphrase: 'pw-frank', network: 'regtest', chainUrl: chain.url, relays: [relay.url], scrypt: LIGHT_SCRYPT });
    await client.close();
    const path = join(dir, 'client.sqlite');
    const bytes = readFileSync(path);
    bytes[200] = bytes[200]! ^ 0xff;
    writeFileSync(path, bytes);
    await assert.rejects(Client.open({ dir, passphrase: 'pw-frank' }), (e: unknown) => StoreError.is(e, 'UNREADABLE'));
  });
});

describe('encrypting a database in place survives kill -9 at every step', { timeout: 120_000 }, () => {
  const tmp = tempDir('satpost-atrest-crash-');
  after(() => tmp.cleanup());
  const key = new Uint8Array(32).fill(7);
  const run = (...args: string[]) =>
    new Promise<string | number | null>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
      child.on('exit', (code, signal) => resolve(signal ?? code));
    });

  for (const step of ['out-of-wal', 'copied', 'renamed', 'none'] as const) {
    it(`killed after "${step}": the old or the new file opens, with every row`, async () => {
      const path = join(tmp.dir, `${step}.sqlite`);
      // A writer killed -9 leaves its last commits in the -wal only.
      assert.equal(await run('write', path), 'SIGKILL');
      assert.ok(statSync(`${path}-wal`).size > 0, 'committed rows wait in the -wal');
      assert.equal(await run('encrypt', path, step), step === 'none' ? 0 : 'SIGKILL');
      const db = openDb({ path, migrations: [], readonly: true, ...(isPlaintextDb(path) ? {} : { key }) });
      assert.equal((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 100, 'the file in place is complete');
      db.close();
      // The next keyed open finishes the job.
      const done = openDb({ path, migrations: ['CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT NOT NULL)'], key });
      assert.equal((done.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 100);
      done.prepare('INSERT INTO t (v) VALUES (?)').run('after');
      assert.equal((done.prepare("SELECT id FROM t WHERE v = 'after'").get() as { id: number }).id, 102, 'AUTOINCREMENT carried over (id 101 was deleted)');
      done.close();
      assert.equal(isPlaintextDb(path), false);
      assert.ok(!readFileSync(path).includes(Buffer.from('row-secret-')), 'no row in clear');
      assert.equal(existsSync(`${path}.encrypting`), false);
    });
  }
});
