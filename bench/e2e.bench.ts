// Signal encrypt+decrypt throughput with in-memory stores (libsignal alone) vs the SQLite
// stores (src/identity/stores.ts: write-through cache, group commit, synchronous=FULL) with the
// commit written inline (the fsync blocks the event loop) or by the commit worker (it overlaps
// libsignal), and whole envelopes sealed + opened at 1 KiB and 64 KiB.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  IdentityChange,
  IdentityKeyPair,
  IdentityKeyStore,
  KEMKeyPair,
  KyberPreKeyRecord,
  KyberPreKeyStore,
  PreKeyBundle,
  PreKeyRecord,
  PreKeySignalMessage,
  PreKeyStore,
  PrivateKey,
  ProtocolAddress,
  PublicKey,
  SessionRecord,
  SessionStore,
  SignalMessage,
  SignedPreKeyRecord,
  SignedPreKeyStore,
  processPreKeyBundle,
  signalDecrypt,
  signalDecryptPreKey,
  signalEncrypt,
  type Direction,
} from '@signalapp/libsignal-client';
import { median, type Benchmark } from './harness.ts';
import { openIdentityDb } from '../src/identity/db.ts';
import { createIdentity } from '../src/identity/identity.ts';
import { PrekeyManager } from '../src/identity/prekeys.ts';
import { SignalStores, type StoreOptions } from '../src/identity/stores.ts';
import { Sessions } from '../src/identity/session.ts';
import { takeForFetch } from '../src/core/objects/prekey-bundle.ts';
import { sealEnvelope, openEnvelope } from '../src/envelope/envelope.ts';
import { H } from '../src/core/hash.ts';
import { tagOfSecret, tagSecret } from '../src/core/objects/tags.ts';

const MS = 2000;

/** Plain Map-backed stores: the libsignal-alone baseline. */
class MemStores {
  sessions = new Map<string, Uint8Array<ArrayBuffer>>();
  ids = new Map<string, PublicKey>();
  pre = new Map<number, PreKeyRecord>();
  signed = new Map<number, SignedPreKeyRecord>();
  kyber = new Map<number, KyberPreKeyRecord>();
  constructor(readonly kp: IdentityKeyPair, readonly reg: number) {}
  session = new (class extends SessionStore {
    constructor(private m: MemStores) { super(); }
    override async saveSession(a: ProtocolAddress, r: SessionRecord) { this.m.sessions.set(a.toString(), r.serialize()); }
    override async getSession(a: ProtocolAddress) { const r = this.m.sessions.get(a.toString()); return r ? SessionRecord.deserialize(r) : null; }
    override async getExistingSessions(): Promise<SessionRecord[]> { return []; }
  })(this);
  identity = new (class extends IdentityKeyStore {
    constructor(private m: MemStores) { super(); }
    override async getIdentityKey() { return this.m.kp.privateKey; }
    override async getLocalRegistrationId() { return this.m.reg; }
    override async saveIdentity(a: ProtocolAddress, k: PublicKey) { this.m.ids.set(a.name(), k); return IdentityChange.NewOrUnchanged; }
    override async isTrustedIdentity(_a: ProtocolAddress, _k: PublicKey, _d: Direction) { return true; }
    override async getIdentity(a: ProtocolAddress) { return this.m.ids.get(a.name()) ?? null; }
  })(this);
  preKey = new (class extends PreKeyStore {
    constructor(private m: MemStores) { super(); }
    override async savePreKey(id: number, r: PreKeyRecord) { this.m.pre.set(id, r); }
    override async getPreKey(id: number) { return this.m.pre.get(id)!; }
    override async removePreKey(id: number) { this.m.pre.delete(id); }
  })(this);
  signedPreKey = new (class extends SignedPreKeyStore {
    constructor(private m: MemStores) { super(); }
    override async saveSignedPreKey(id: number, r: SignedPreKeyRecord) { this.m.signed.set(id, r); }
    override async getSignedPreKey(id: number) { return this.m.signed.get(id)!; }
  })(this);
  kyberPreKey = new (class extends KyberPreKeyStore {
    constructor(private m: MemStores) { super(); }
    override async saveKyberPreKey(id: number, r: KyberPreKeyRecord) { this.m.kyber.set(id, r); }
    override async getKyberPreKey(id: number) { return this.m.kyber.get(id)!; }
    override async markKyberPreKeyUsed() {}
  })(this);
}

async function memoryPairsPerSecond(): Promise<number> {
  const a = new MemStores(IdentityKeyPair.generate(), 1);
  const c = new MemStores(IdentityKeyPair.generate(), 2);
  const aAddr = ProtocolAddress.new('alice', 1);
  const cAddr = ProtocolAddress.new('carol', 1);
  const spk = PrivateKey.generate();
  const kem = KEMKeyPair.generate();
  const otk = PrivateKey.generate();
  c.signed.set(1, SignedPreKeyRecord.new(1, 0, spk.getPublicKey(), spk, c.kp.privateKey.sign(spk.getPublicKey().serialize())));
  c.kyber.set(1, KyberPreKeyRecord.new(1, 0, kem, c.kp.privateKey.sign(kem.getPublicKey().serialize())));
  c.pre.set(1, PreKeyRecord.new(1, otk.getPublicKey(), otk));
  const bundle = PreKeyBundle.new(2, 1, 1, otk.getPublicKey(), 1, spk.getPublicKey(), c.signed.get(1)!.signature(), c.kp.publicKey, 1, kem.getPublicKey(), c.kyber.get(1)!.signature());
  await processPreKeyBundle(bundle, cAddr, aAddr, a.session, a.identity);
  const msg = new Uint8Array(256);
  const first = await signalEncrypt(msg, cAddr, aAddr, a.session, a.identity);
  await signalDecryptPreKey(PreKeySignalMessage.deserialize(first.serialize()), aAddr, cAddr, c.session, c.identity, c.preKey, c.signedPreKey, c.kyberPreKey);
  const reply = await signalEncrypt(msg, aAddr, cAddr, c.session, c.identity);
  await signalDecrypt(SignalMessage.deserialize(reply.serialize()), cAddr, aAddr, a.session, a.identity);
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < MS) {
    const m = await signalEncrypt(msg, cAddr, aAddr, a.session, a.identity);
    await signalDecrypt(SignalMessage.deserialize(m.serialize()), aAddr, cAddr, c.session, c.identity);
    n++;
  }
  return (n * 1000) / (performance.now() - start);
}

interface Pair {
  alice: { sessions: Sessions; self: ReturnType<typeof createIdentity> };
  carol: { sessions: Sessions; self: ReturnType<typeof createIdentity> };
  close(): Promise<void>;
}

/** `key`: a data key encrypts the identity databases (as in a data directory); absent: plaintext. */
function sqlitePair(dir: string, tag: string, peers: number, writer: StoreOptions['writer'] = 'auto', key?: Uint8Array): Pair {
  const mk = (name: string) => {
    const db = openIdentityDb(join(dir, `${tag}-${name}.db`), key ? { key } : {});
    const self = createIdentity(db, 'bench', { scrypt: { log2N: 10, r: 8, p: 1 } });
    const prekeys = new PrekeyManager(db, self, { poolSize: Math.max(peers, 5), kyberPoolSize: 2, threshold: 1, kyberThreshold: 1 });
    prekeys.initialize(Date.now());
    return { db, self, prekeys, sessions: new Sessions(new SignalStores(db, self, { writer })) };
  };
  const alice = mk('alice');
  const carol = mk('carol');
  const close = async () => {
    await Promise.all([alice.sessions.stores.close(), carol.sessions.stores.close()]);
    alice.db.close();
    carol.db.close();
  };
  return { alice, carol, close };
}

/**
 * Encrypt at Alice + decrypt at Carol, `inFlight` conversations at once over the same two
 * databases (each conversation its own session under its own contact name), so concurrent
 * steps share one commit per database.
 */
/** Each measurement gets fresh identities (a data directory holds one). */
let pairsMade = 0;

async function sqlitePairsPerSecond(dir: string, inFlight: number, writer: StoreOptions['writer'], log: (msg: string) => void = () => {}, key?: Uint8Array): Promise<number> {
  const p = sqlitePair(dir, `c${inFlight}-${writer}-${++pairsMade}`, inFlight, writer, key);
  let pool = (p.carol as unknown as { prekeys: PrekeyManager }).prekeys.buildBundle(Date.now());
  const msg = new Uint8Array(256);
  for (let i = 0; i < inFlight; i++) {
    const { fetched, remaining } = takeForFetch(pool);
    pool = remaining;
    const first = await p.alice.sessions.encryptTo(`carol-${i}`, msg, { bundle: fetched });
    await p.carol.sessions.decryptFrom(`alice-${i}`, first);
    await p.alice.sessions.decryptFrom(`carol-${i}`, await p.carol.sessions.encryptTo(`alice-${i}`, msg));
  }
  const start = performance.now();
  let n = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async (_, i) => {
      while (performance.now() - start < MS) {
        const c = await p.alice.sessions.encryptTo(`carol-${i}`, msg);
        await p.carol.sessions.decryptFrom(`alice-${i}`, c);
        n++;
      }
    }),
  );
  const rate = (n * 1000) / (performance.now() - start);
  const a = p.alice.sessions.stores.stats;
  const c = p.carol.sessions.stores.stats;
  log(`${inFlight} in flight, ${writer} writer${key ? ', encrypted' : ''}: ${rate.toFixed(0)} pairs/s; ${a.commits + c.commits} commits for ${2 * n} steps (largest ${Math.max(a.largestCommit, c.largestCommit)} writes)`);
  await p.close();
  return rate;
}

/**
 * Envelopes sealed (Alice) and opened (Carol) per second at `size` bytes of file data, over the
 * SQLite stores (synchronous=FULL, inline group commit): `lanes` envelopes in flight spread over
 * `conversations` contacts (several per contact pipeline on one session, Sessions.encryptTo).
 * Both parties run in this process, as in the channel bench.
 */
export async function envelopesPerSecond(dir: string, size: number, lanes = 1, conversations = 1, ms = MS, stats: { cpuMicros?: number } = {}): Promise<number> {
  const p = sqlitePair(dir, `env${size}-${lanes}-${conversations}-${++pairsMade}`, conversations, 'inline');
  const carolPre = (p.carol as unknown as { prekeys: PrekeyManager }).prekeys;
  let pool = carolPre.buildBundle(Date.now());
  const alice = { identity: p.alice.self, sessions: p.alice.sessions };
  const carol = { identity: p.carol.self, sessions: p.carol.sessions };
  const data = new Uint8Array(size - 64);
  const seed = new Uint8Array(randomBytes(32));
  let n = 0;
  const one = async (conv: number, bundle?: ReturnType<typeof takeForFetch>['fetched']) => {
    const i = n++;
    const hk = H(Uint8Array.of(i & 0xff, (i >> 8) & 0xff, (i >> 16) & 0xff, conv));
    const tag = tagOfSecret(tagSecret(seed, i));
    const env = await sealEnvelope({
      sender: alice,
      recipient: { peer: `carol-${conv}`, identityKey: p.carol.self.publicKey, ...(bundle ? { bundle } : {}) },
      message: { kind: 'file', name: 'f', mediaType: 'application/octet-stream', data },
      hk,
      relayId: new Uint8Array(32),
      tag,
      mode: 'recipient-pays',
      now: Date.now(),
    });
    await openEnvelope({ recipient: carol, ...env, tag, hk, peerFor: () => `alice-${conv}` });
  };
  // Every conversation's session first (a prekey bundle each), outside the clock.
  for (let c = 0; c < conversations; c++) {
    const t = takeForFetch(pool);
    pool = t.remaining;
    await one(c, t.fetched);
  }
  n = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      while (performance.now() - start < ms) await one(lane % conversations);
    }),
  );
  const rate = (n * 1000) / (performance.now() - start);
  const cpu = process.cpuUsage(cpu0);
  stats.cpuMicros = (cpu.user + cpu.system) / n;
  await p.close();
  return rate;
}

export const bench: Benchmark = {
  name: 'e2e',
  description: 'Signal sessions and envelopes: libsignal alone vs SQLite stores (group commit, synchronous=FULL)',
  async run(report, log) {
    const dir = mkdtempSync(join(tmpdir(), 'satpost-bench-e2e-'));
    try {
      log('in-memory stores');
      report({ metric: 'signal enc+dec, in-memory Map stores', value: await memoryPairsPerSecond(), unit: 'pairs/s', note: 'libsignal alone, 1 conversation' });
      log('SQLite stores, sequential');
      report({ metric: 'signal enc+dec, SQLite stores, 1 in flight', value: await sqlitePairsPerSecond(dir, 1, 'auto', log), unit: 'pairs/s', note: 'one fsync per step (auto: inline)' });
      log('SQLite stores, 32 in flight (inline and worker alternately, 3 rounds)');
      const rates: Record<'inline' | 'worker', number[]> = { inline: [], worker: [] };
      for (let round = 0; round < 3; round++) {
        for (const writer of ['inline', 'worker'] as const) rates[writer].push(await sqlitePairsPerSecond(dir, 32, writer, log));
      }
      const runs = (w: 'inline' | 'worker') => `median of 3 alternating rounds: ${rates[w].map((r) => r.toFixed(0)).join(', ')}`;
      report({
        metric: 'signal enc+dec, SQLite stores, 32 in flight',
        value: median(rates.inline),
        unit: 'pairs/s',
        goal: '>= 3000',
        note: `the default (inline group commit; its fsync stops libsignal); ${runs('inline')}`,
      });
      report({
        metric: 'signal enc+dec, SQLite stores, 32 in flight, commit worker',
        value: median(rates.worker),
        unit: 'pairs/s',
        note: `writer 'worker' (commits overlap libsignal; thread hand-over costs); ${runs('worker')}`,
      });
      // Encryption at rest, before/after in this run: the same work on plaintext and on
      // encrypted identity databases (a data directory's are encrypted), alternating.
      log('SQLite stores, plaintext vs encrypted (alternately, 3 rounds)');
      const key = new Uint8Array(randomBytes(32));
      for (const inFlight of [1, 32]) {
        const atRest: Record<'plaintext' | 'encrypted', number[]> = { plaintext: [], encrypted: [] };
        for (let round = 0; round < 3; round++) {
          atRest.plaintext.push(await sqlitePairsPerSecond(dir, inFlight, 'inline', log));
          atRest.encrypted.push(await sqlitePairsPerSecond(dir, inFlight, 'inline', log, key));
        }
        for (const kind of ['plaintext', 'encrypted'] as const) {
          report({
            metric: `signal enc+dec, SQLite stores, ${inFlight} in flight, ${kind}`,
            value: median(atRest[kind]),
            unit: 'pairs/s',
            note: `inline writer; median of 3 alternating rounds: ${atRest[kind].map((r) => r.toFixed(0)).join(', ')}`,
          });
        }
        report({
          metric: `encryption at rest: signal enc+dec cost, ${inFlight} in flight`,
          value: 100 * (1 - median(atRest.encrypted) / median(atRest.plaintext)),
          unit: '%',
          note: 'chacha20 pages (SQLite3 Multiple Ciphers), identity databases',
        });
      }
      for (const size of [1024, 65536]) {
        log(`envelopes ${size}`);
        const st: { cpuMicros?: number } = {};
        report({ metric: `envelopes sealed+opened, ${size / 1024} KiB`, value: await envelopesPerSecond(dir, size, 1, 1, MS, st), unit: 'envelopes/s', note: `SQLite stores, sequential: two fsyncs per envelope; ${st.cpuMicros!.toFixed(0)} µs CPU each` });
      }
      for (const [lanes, conversations] of [[32, 1], [32, 32]] as const) {
        const runs: number[] = [];
        const cpu: number[] = [];
        for (let round = 0; round < 3; round++) {
          const st: { cpuMicros?: number } = {};
          runs.push(await envelopesPerSecond(dir, 1024, lanes, conversations, MS, st));
          cpu.push(st.cpuMicros!);
        }
        log(`envelopes 1 KiB, ${lanes} in flight over ${conversations} conversation(s): ${runs.map((r) => r.toFixed(0)).join(', ')}`);
        report({
          metric: `process CPU per envelope sealed+opened, 1 KiB, ${lanes} in flight, ${conversations === 1 ? 'one conversation' : `${conversations} conversations`}`,
          value: median(cpu),
          unit: 'µs',
          note: 'user+system of this process (both parties, the commit, libsignal, HPKE): the bound on envelopes/s per core',
        });
        report({
          metric: `envelopes sealed+opened, 1 KiB, ${lanes} in flight, ${conversations === 1 ? 'one conversation' : `${conversations} conversations`}`,
          value: median(runs),
          unit: 'envelopes/s',
          goal: '>= 2000',
          note: `SQLite stores (synchronous=FULL, group commit${conversations === 1 ? ', steps pipelined on one session' : ''}); median of 3: ${runs.map((r) => r.toFixed(0)).join(', ')}`,
        });
      }
      report({ metric: 'machine load average (1 min) at the end', value: loadavg()[0]!, unit: '', note: `${cpus().length} cores shared with other work: rates above fall with it` });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
