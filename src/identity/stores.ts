/**
 * SQLite-backed libsignal stores over one identity database (schema in db.ts).
 *
 * Sessions and trust decisions go through a write-through cache with group commit:
 * store callbacks made by libsignal only change memory, and `commit()` writes everything
 * pending in one transaction. Every public operation (session.ts) awaits `commit()` before it
 * returns a ciphertext or plaintext, so no ratchet step is ever used without being durable,
 * while operations running concurrently share one fsync.
 *
 * The transaction is written by a BatchWriter (commit-writer.ts): by default inline on this
 * connection (StoreOptions.writer says why); optionally on a worker thread with its own
 * connection, so the fsync no longer stops libsignal on the main thread. A batch is sent every
 * turn of the event loop that made changes, without waiting for earlier ones; the worker commits
 * them in order (those queued during one fsync share the next). Until a batch has committed,
 * reads see it through the cache and the in-flight sets (the main connection does not yet).
 *
 * Trust: the first identity key seen for a contact is trusted; a different key later is
 * recorded as untrusted and refused in both directions until `trustNewIdentity(contact)`.
 */
// The store classes implement libsignal's store interfaces rather than extend its (empty) base
// classes: a class declaration would need libsignal loaded when this module loads, and a command
// that decrypts nothing (inbox with nothing new, contact list) must not pay for loading it.
import {
  IdentityChange,
  KyberPreKeyRecord,
  PreKeyRecord,
  PublicKey,
  SessionRecord,
  SignedPreKeyRecord,
  type Direction,
  type IdentityKeyPair,
  type IdentityKeyStore,
  type KyberPreKeyStore,
  type PreKeyStore,
  type PrivateKey,
  type ProtocolAddress,
  type SessionStore,
  type SignedPreKeyStore,
} from '@signalapp/libsignal-client';
import type { Db } from '../store/sqlite.ts';
import { bytesEqual } from '../core/hash.ts';
import { IdentityError, type IdentityChangeInfo } from './errors.ts';
import type { UnlockedIdentity } from './identity.ts';
import { fingerprintOf } from './keys.ts';
import { own } from './bytes.ts';
import { createWriter, InlineWriter, type BatchWriter, type Row, type WriterMode } from './commit-writer.ts';

type Bytes = Uint8Array<ArrayBuffer>;

interface TrustRow {
  trusted: Bytes;
  untrusted: Bytes | null;
  firstSeenAt: number;
  changedAt: number | null;
}

interface KyberUse {
  kyberId: number;
  signedId: number;
  baseKey: Uint8Array;
  at: number;
}

export interface StoreOptions {
  /** Clock for stored timestamps (ms); default Date.now. */
  clock?: () => number;
  /**
   * Where group commits are written: 'inline' (this connection), 'worker' (a worker thread),
   * 'auto' (inline until operations run concurrently). Default 'inline': on a 2-core machine
   * the worker measured slower with 32 conversations in flight (1,707 against 2,695 pairs/s,
   * `npm run bench -- e2e`), the hand-over between threads costing more than the fsync it
   * hides. ':memory:' is always inline.
   */
  writer?: WriterMode;
  /** An idle commit worker stops after this long (ms); default 10,000. */
  workerIdleMs?: number;
}

/** The statements of a batch, by index (rows are [index, ...params]). */
const PUT_SESSION = 0;
const PUT_TRUST = 1;
const DEL_PREKEY = 2;
const DEL_KYBER = 3;
const PUT_USE = 4;
const DEL_SESSIONS = 5;
const BATCH_SQL: readonly string[] = [
  'INSERT INTO sessions (peer, device, record, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(peer, device) DO UPDATE SET record = excluded.record, updated_at = excluded.updated_at',
  'INSERT INTO identities (peer, trusted_key, untrusted_key, first_seen_at, changed_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(peer) DO UPDATE SET trusted_key = excluded.trusted_key, untrusted_key = excluded.untrusted_key, changed_at = excluded.changed_at',
  'DELETE FROM prekeys WHERE id = ?',
  "DELETE FROM kyber_prekeys WHERE id = ? AND kind = 'one-time'",
  'INSERT OR IGNORE INTO kyber_last_resort_uses (kyber_id, signed_prekey_id, base_key, used_at) VALUES (?, ?, ?, ?)',
  'DELETE FROM sessions WHERE peer = ?',
];

/** A batch handed to the writer and not yet known to be committed. */
interface InFlight {
  sessions: Map<string, Bytes>;
  trust: Set<string>;
  preKeys: Set<number>;
  kyber: Set<number>;
  kyberUses: KyberUse[];
  done: Promise<void>;
}

/** A session's in-memory state before an operation (SignalStores.snapshot). */
export interface SessionSnapshot {
  readonly key: string;
  readonly bytes: Bytes | null | undefined;
  readonly record: SessionRecord | undefined;
  readonly dirty: boolean;
}

/** The operations waiting for the next batch. */
interface NextBatch {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: Error) => void;
  waiters: number;
}

const sessionKey = (peer: string, device: number): string => `${device}:${peer}`;
const peerOf = (key: string): string => key.slice(key.indexOf(':') + 1);

/**
 * The shared state of all five stores. libsignal callbacks are synchronous in effect (SQLite
 * reads, memory writes); durability comes from commit().
 */
export class SignalStores {
  readonly session: SqliteSessionStore;
  readonly identity: SqliteIdentityKeyStore;
  readonly preKey: SqlitePreKeyStore;
  readonly signedPreKey: SqliteSignedPreKeyStore;
  readonly kyberPreKey: SqliteKyberPreKeyStore;
  readonly clock: () => number;

  /** Serialized SessionRecord per "device:peer"; null = known absent. */
  private readonly sessions = new Map<string, Bytes | null>();
  /**
   * The same records as libsignal objects, so a step does not parse its session again (~50 µs
   * each, several per step). libsignal copies what getSession returns and hands saveSession a
   * fresh object, so a cached object is never changed behind the cache's back.
   */
  private readonly records = new Map<string, SessionRecord>();
  private readonly trust = new Map<string, TrustRow | null>();
  // Changes not yet handed to the writer.
  private readonly dirtySessions = new Set<string>();
  private readonly dirtyTrust = new Set<string>();
  private readonly removedPreKeys = new Set<number>();
  private readonly removedKyber = new Set<number>();
  private readonly kyberUses: KyberUse[] = [];
  /** Batches sent and not yet committed, oldest first (they commit in this order). */
  private readonly inFlight: InFlight[] = [];
  private next: NextBatch | null = null;
  private readonly inline: InlineWriter;
  private writer: BatchWriter;
  /** Batches written and the most rows one carried (the worker may commit several queued batches in one transaction). */
  readonly stats = { commits: 0, largestCommit: 0 };
  private readonly stmt;

  constructor(
    readonly db: Db,
    readonly self: UnlockedIdentity,
    opts: StoreOptions = {},
  ) {
    this.clock = opts.clock ?? Date.now;
    this.inline = new InlineWriter(db, BATCH_SQL);
    this.writer = createWriter(db, this.inline, opts.writer ?? 'inline', opts.workerIdleMs);
    this.stmt = {
      getSession: db.prepare('SELECT record FROM sessions WHERE peer = ? AND device = ?'),
      getTrust: db.prepare('SELECT trusted_key, untrusted_key, first_seen_at, changed_at FROM identities WHERE peer = ?'),
      getPreKey: db.prepare('SELECT record FROM prekeys WHERE id = ?'),
      getSigned: db.prepare('SELECT record FROM signed_prekeys WHERE id = ?'),
      getKyber: db.prepare('SELECT record, kind FROM kyber_prekeys WHERE id = ?'),
      getUse: db.prepare('SELECT 1 FROM kyber_last_resort_uses WHERE kyber_id = ? AND signed_prekey_id = ? AND base_key = ?'),
    };
    this.session = new SqliteSessionStore(this);
    this.identity = new SqliteIdentityKeyStore(this);
    this.preKey = new SqlitePreKeyStore(this);
    this.signedPreKey = new SqliteSignedPreKeyStore(this);
    this.kyberPreKey = new SqliteKyberPreKeyStore(this);
  }

  // ---- sessions

  loadSession(peer: string, device: number): Bytes | null {
    const key = sessionKey(peer, device);
    const cached = this.sessions.get(key);
    if (cached !== undefined) return cached;
    const row = this.stmt.getSession.get(peer, device) as { record: Uint8Array } | undefined;
    const rec = row ? own(row.record) : null;
    this.sessions.set(key, rec);
    return rec;
  }

  /** The session as a libsignal object (parsed once, then cached with its bytes). */
  loadSessionRecord(peer: string, device: number): SessionRecord | null {
    const key = sessionKey(peer, device);
    const cached = this.records.get(key);
    if (cached) return cached;
    const bytes = this.loadSession(peer, device);
    if (!bytes) return null;
    const record = SessionRecord.deserialize(bytes);
    this.records.set(key, record);
    return record;
  }

  storeSession(peer: string, device: number, record: Bytes, parsed?: SessionRecord): void {
    const key = sessionKey(peer, device);
    this.sessions.set(key, record);
    if (parsed) this.records.set(key, parsed);
    else this.records.delete(key);
    this.dirtySessions.add(key);
  }

  private forgetSession(key: string): void {
    this.sessions.delete(key);
    this.records.delete(key);
  }

  // ---- trust

  trustRow(peer: string): TrustRow | null {
    const cached = this.trust.get(peer);
    if (cached !== undefined) return cached;
    const row = this.stmt.getTrust.get(peer) as
      | { trusted_key: Uint8Array; untrusted_key: Uint8Array | null; first_seen_at: number; changed_at: number | null }
      | undefined;
    const t = row
      ? {
          trusted: own(row.trusted_key),
          untrusted: row.untrusted_key ? own(row.untrusted_key) : null,
          firstSeenAt: row.first_seen_at,
          changedAt: row.changed_at,
        }
      : null;
    this.trust.set(peer, t);
    return t;
  }

  setTrust(peer: string, row: TrustRow): void {
    this.trust.set(peer, row);
    this.dirtyTrust.add(peer);
  }

  /** The pending change of a contact's identity key, if a different key has been seen. */
  identityChange(peer: string): IdentityChangeInfo | null {
    const t = this.trustRow(peer);
    if (!t?.untrusted) return null;
    return { contact: peer, trustedFingerprint: fingerprintOf(t.trusted), newFingerprint: fingerprintOf(t.untrusted) };
  }

  /**
   * Accepts the untrusted key seen for `peer`. Sessions built on the old key are dropped:
   * they can no longer authenticate the peer. Durable when this returns (flushNow).
   */
  trustNewIdentity(peer: string): void {
    const t = this.trustRow(peer);
    if (!t?.untrusted) throw new IdentityError('NO_UNTRUSTED_KEY', `contact "${peer}" has no changed identity key to accept`);
    this.setTrust(peer, { ...t, trusted: t.untrusted, untrusted: null, changedAt: this.clock() });
    for (const key of [...this.sessions.keys()]) if (peerOf(key) === peer) this.forgetSession(key);
    for (const key of [...this.dirtySessions]) if (peerOf(key) === peer) this.dirtySessions.delete(key);
    this.flushNow([[DEL_SESSIONS, peer]]);
  }

  // ---- prekeys (reads straight from SQLite; removals join the next commit)

  loadPreKey(id: number): Bytes | null {
    if (this.removedPreKeys.has(id) || this.inFlight.some((b) => b.preKeys.has(id))) return null;
    const row = this.stmt.getPreKey.get(id) as { record: Uint8Array } | undefined;
    return row ? own(row.record) : null;
  }

  removePreKey(id: number): void {
    this.removedPreKeys.add(id);
  }

  loadSignedPreKey(id: number): Bytes | null {
    const row = this.stmt.getSigned.get(id) as { record: Uint8Array } | undefined;
    return row ? own(row.record) : null;
  }

  loadKyber(id: number): { record: Bytes; kind: 'one-time' | 'last-resort' } | null {
    if (this.removedKyber.has(id) || this.inFlight.some((b) => b.kyber.has(id))) return null;
    const row = this.stmt.getKyber.get(id) as { record: Uint8Array; kind: 'one-time' | 'last-resort' } | undefined;
    return row ? { record: own(row.record), kind: row.kind } : null;
  }

  /** One-time Kyber keys are deleted; a last-resort key may serve each base key once only. */
  markKyberUsed(kyberId: number, signedId: number, baseKey: Uint8Array): void {
    const k = this.loadKyber(kyberId);
    if (k === null) throw new IdentityError('PREKEY_NOT_FOUND', `Kyber prekey ${kyberId} not found`);
    if (k.kind === 'one-time') {
      this.removedKyber.add(kyberId);
      return;
    }
    const same = (u: KyberUse) => u.kyberId === kyberId && u.signedId === signedId && bytesEqual(u.baseKey, baseKey);
    const seen =
      this.stmt.getUse.get(kyberId, signedId, baseKey) !== undefined || this.kyberUses.some(same) || this.inFlight.some((b) => b.kyberUses.some(same));
    if (seen) {
      throw new IdentityError('KYBER_PREKEY_REUSED', `last-resort Kyber prekey ${kyberId} was already used with this base key`);
    }
    this.kyberUses.push({ kyberId, signedId, baseKey, at: this.clock() });
  }

  // ---- durability

  private get hasUnsentWrites(): boolean {
    return this.dirtySessions.size + this.dirtyTrust.size + this.removedPreKeys.size + this.removedKyber.size + this.kyberUses.length > 0;
  }

  /** Whether any change is not yet known to be on disk (unsent, or in a batch not yet committed). */
  get hasPendingWrites(): boolean {
    return this.hasUnsentWrites || this.inFlight.length > 0;
  }

  /**
   * Group commit: resolves once everything changed so far is committed. Callers in the same
   * turn of the event loop share a batch (it is sent on setImmediate), so N concurrent
   * operations cost one fsync. (Waiting more turns for stragglers was measured: no fewer
   * commits.)
   */
  commit(): Promise<void> {
    if (!this.hasUnsentWrites) return this.next?.promise ?? this.inFlight.at(-1)?.done ?? Promise.resolve();
    if (!this.next) {
      let resolve!: () => void;
      let reject!: (e: Error) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      this.next = { promise, resolve, reject, waiters: 0 };
      setImmediate(() => this.send());
    }
    this.next.waiters++;
    return this.next.promise;
  }

  /** Hands everything unsent to the writer as one batch. */
  private send(): void {
    const next = this.next;
    if (!next) return;
    this.next = null;
    const { rows, batch } = this.takeUnsent(next.promise);
    this.inFlight.push(batch);
    this.count(rows.length);
    const settled = () => {
      const i = this.inFlight.indexOf(batch);
      if (i >= 0) this.inFlight.splice(i, 1);
    };
    this.writer.write(rows, next.waiters > 1).then(
      () => {
        settled();
        next.resolve();
      },
      (e: Error) => {
        settled();
        this.requeue(batch);
        next.reject(e);
      },
    );
  }

  private takeUnsent(done: Promise<void>): { rows: Row[]; batch: InFlight } {
    const now = this.clock();
    const rows: Row[] = [];
    const batch: InFlight = {
      sessions: new Map(),
      trust: new Set(this.dirtyTrust),
      preKeys: new Set(this.removedPreKeys),
      kyber: new Set(this.removedKyber),
      kyberUses: [...this.kyberUses],
      done,
    };
    for (const key of this.dirtySessions) {
      const rec = this.sessions.get(key);
      if (!rec) continue;
      const colon = key.indexOf(':');
      rows.push([PUT_SESSION, key.slice(colon + 1), Number(key.slice(0, colon)), rec, now]);
      batch.sessions.set(key, rec);
    }
    for (const peer of this.dirtyTrust) {
      const t = this.trust.get(peer);
      if (t) rows.push([PUT_TRUST, peer, t.trusted, t.untrusted, t.firstSeenAt, t.changedAt]);
    }
    for (const id of this.removedPreKeys) rows.push([DEL_PREKEY, id]);
    for (const id of this.removedKyber) rows.push([DEL_KYBER, id]);
    for (const u of this.kyberUses) rows.push([PUT_USE, u.kyberId, u.signedId, u.baseKey, u.at]);
    this.dirtySessions.clear();
    this.dirtyTrust.clear();
    this.removedPreKeys.clear();
    this.removedKyber.clear();
    this.kyberUses.length = 0;
    return { rows, batch };
  }

  /** A failed batch's changes become unsent again (memory still holds them, or newer). */
  private requeue(b: InFlight): void {
    for (const key of b.sessions.keys()) if (this.sessions.get(key)) this.dirtySessions.add(key);
    for (const peer of b.trust) this.dirtyTrust.add(peer);
    for (const id of b.preKeys) this.removedPreKeys.add(id);
    for (const id of b.kyber) this.removedKyber.add(id);
    this.kyberUses.unshift(...b.kyberUses);
  }

  /**
   * Writes everything pending now on this connection, plus `extra` rows in the same
   * transaction, after waiting (blocking) for the batch in flight: rare calls such as
   * trustNewIdentity that must be durable, and ordered after every earlier change, on return.
   */
  flushNow(extra: Row[] = []): void {
    this.writer.drainSync();
    const next = this.next;
    this.next = null;
    const { rows, batch } = this.takeUnsent(next?.promise ?? Promise.resolve());
    try {
      this.inline.applySync([...rows, ...extra]);
    } catch (e) {
      this.requeue(batch);
      next?.reject(e as Error);
      throw e;
    }
    this.count(rows.length + extra.length);
    next?.resolve();
  }

  private count(rows: number): void {
    this.stats.commits++;
    this.stats.largestCommit = Math.max(this.stats.largestCommit, rows);
  }

  /**
   * The in-memory session state of `peer` as it is now (bytes, parsed record, whether it is
   * unsent), for `restore` when the operation about to run fails.
   */
  snapshot(peer: string, device: number): SessionSnapshot {
    const key = sessionKey(peer, device);
    return { key, bytes: this.sessions.get(key), record: this.records.get(key), dirty: this.dirtySessions.has(key) };
  }

  /**
   * Puts a session back as it was before an operation that failed, so memory never runs ahead
   * of what an operation that succeeded left. Operations on one peer run one at a time, but
   * the previous one may still wait for its commit: its state (unsent, or in a batch in
   * flight) is what the snapshot holds, and stays to be written. Trust changes are kept (a
   * refused new key must be remembered), and so are prekey removals (libsignal only makes them
   * once a message decrypted).
   */
  restore(s: SessionSnapshot): void {
    if (s.bytes === undefined) this.forgetSession(s.key);
    else this.sessions.set(s.key, s.bytes);
    if (s.record === undefined) this.records.delete(s.key);
    else this.records.set(s.key, s.record);
    if (s.dirty) this.dirtySessions.add(s.key);
    else this.dirtySessions.delete(s.key);
  }

  /**
   * Commits what is pending, waits for the commit worker and stops it. The database stays
   * open (its owner closes it); later commits are written inline on this connection.
   */
  async close(): Promise<void> {
    // Switch to inline only with nothing in flight: an inline batch must not commit before an
    // older one the worker still holds.
    while (this.hasPendingWrites) await this.commit();
    const writer = this.writer;
    this.writer = this.inline;
    await writer.close();
  }
}

export class SqliteSessionStore implements SessionStore {
  constructor(private readonly s: SignalStores) {}
  async saveSession(name: ProtocolAddress, record: SessionRecord): Promise<void> {
    this.s.storeSession(name.name(), name.deviceId(), record.serialize(), record);
  }
  async getSession(name: ProtocolAddress): Promise<SessionRecord | null> {
    return this.s.loadSessionRecord(name.name(), name.deviceId());
  }
  async getExistingSessions(addresses: ProtocolAddress[]): Promise<SessionRecord[]> {
    return addresses.map((a) => {
      const rec = this.s.loadSessionRecord(a.name(), a.deviceId());
      if (!rec) throw new IdentityError('PREKEY_NOT_FOUND', `no session for ${a.name()}.${a.deviceId()}`);
      return rec;
    });
  }
}

export class SqliteIdentityKeyStore implements IdentityKeyStore {
  constructor(private readonly s: SignalStores) {}
  async getIdentityKey(): Promise<PrivateKey> {
    return this.s.self.keyPair.privateKey;
  }
  async getIdentityKeyPair(): Promise<IdentityKeyPair> {
    return this.s.self.keyPair;
  }
  async getLocalRegistrationId(): Promise<number> {
    return this.s.self.registrationId;
  }
  async saveIdentity(name: ProtocolAddress, key: PublicKey): Promise<IdentityChange> {
    const peer = name.name();
    const k = key.serialize();
    const t = this.s.trustRow(peer);
    if (t === null) {
      this.s.setTrust(peer, { trusted: k, untrusted: null, firstSeenAt: this.s.clock(), changedAt: null });
      return IdentityChange.NewOrUnchanged;
    }
    if (bytesEqual(t.trusted, k)) return IdentityChange.NewOrUnchanged;
    // Never trust a changed key silently: remember it as untrusted, for trustNewIdentity.
    if (!t.untrusted || !bytesEqual(t.untrusted, k)) this.s.setTrust(peer, { ...t, untrusted: k, changedAt: this.s.clock() });
    return IdentityChange.ReplacedExisting;
  }
  async isTrustedIdentity(name: ProtocolAddress, key: PublicKey, _direction: Direction): Promise<boolean> {
    const peer = name.name();
    const t = this.s.trustRow(peer);
    if (t === null) return true;
    const k = key.serialize();
    if (bytesEqual(t.trusted, k)) return true;
    if (!t.untrusted || !bytesEqual(t.untrusted, k)) this.s.setTrust(peer, { ...t, untrusted: k, changedAt: this.s.clock() });
    return false;
  }
  async getIdentity(name: ProtocolAddress): Promise<PublicKey | null> {
    const t = this.s.trustRow(name.name());
    return t ? PublicKey.deserialize(own(t.trusted)) : null;
  }
}

export class SqlitePreKeyStore implements PreKeyStore {
  constructor(private readonly s: SignalStores) {}
  async savePreKey(id: number, record: PreKeyRecord): Promise<void> {
    // Prekeys are created by PrekeyManager (with satpost's signature); libsignal never saves them.
    throw new IdentityError('PREKEY_NOT_FOUND', `savePreKey(${id}, ${record.id()}) is not used; create prekeys with PrekeyManager`);
  }
  async getPreKey(id: number): Promise<PreKeyRecord> {
    const rec = this.s.loadPreKey(id);
    if (!rec) throw new IdentityError('PREKEY_NOT_FOUND', `one-time prekey ${id} not found (already used or never issued)`);
    return PreKeyRecord.deserialize(rec);
  }
  async removePreKey(id: number): Promise<void> {
    this.s.removePreKey(id);
  }
}

export class SqliteSignedPreKeyStore implements SignedPreKeyStore {
  constructor(private readonly s: SignalStores) {}
  async saveSignedPreKey(id: number, record: SignedPreKeyRecord): Promise<void> {
    this.s.db
      .prepare('INSERT OR REPLACE INTO signed_prekeys (id, record, created_at) VALUES (?, ?, ?)')
      .run(id, record.serialize(), record.timestamp());
  }
  async getSignedPreKey(id: number): Promise<SignedPreKeyRecord> {
    const rec = this.s.loadSignedPreKey(id);
    if (!rec) throw new IdentityError('PREKEY_NOT_FOUND', `signed prekey ${id} not found (expired past its grace period?)`);
    return SignedPreKeyRecord.deserialize(rec);
  }
}

export class SqliteKyberPreKeyStore implements KyberPreKeyStore {
  constructor(private readonly s: SignalStores) {}
  async saveKyberPreKey(id: number, record: KyberPreKeyRecord): Promise<void> {
    this.s.db
      .prepare("INSERT OR REPLACE INTO kyber_prekeys (id, kind, record, created_at) VALUES (?, 'one-time', ?, ?)")
      .run(id, record.serialize(), record.timestamp());
  }
  async getKyberPreKey(id: number): Promise<KyberPreKeyRecord> {
    const k = this.s.loadKyber(id);
    if (!k) throw new IdentityError('PREKEY_NOT_FOUND', `Kyber prekey ${id} not found (already used or never issued)`);
    return KyberPreKeyRecord.deserialize(k.record);
  }
  async markKyberPreKeyUsed(kyberPreKeyId: number, signedPreKeyId: number, baseKey: PublicKey): Promise<void> {
    this.s.markKyberUsed(kyberPreKeyId, signedPreKeyId, baseKey.serialize());
  }
}
