/**
 * SQLite-backed libsignal stores over one identity database (schema in db.ts).
 *
 * Sessions and trust decisions go through a write-through cache with group commit:
 * store callbacks made by libsignal only change memory, and `commit()` writes everything
 * pending in one transaction. Every public operation (session.ts) awaits `commit()` before it
 * returns a ciphertext or plaintext, so no ratchet step is ever used without being durable,
 * while operations running concurrently share one fsync.
 *
 * Trust: the first identity key seen for a contact is trusted; a different key later is
 * recorded as untrusted and refused in both directions until `trustNewIdentity(contact)`.
 */
import {
  Direction,
  IdentityChange,
  IdentityKeyStore,
  KyberPreKeyRecord,
  KyberPreKeyStore,
  PreKeyRecord,
  PreKeyStore,
  PrivateKey,
  ProtocolAddress,
  PublicKey,
  SessionRecord,
  SessionStore,
  SignedPreKeyRecord,
  SignedPreKeyStore,
} from '@signalapp/libsignal-client';
import type { Db } from '../store/sqlite.ts';
import { bytesEqual } from '../core/hash.ts';
import { IdentityError, type IdentityChangeInfo } from './errors.ts';
import type { UnlockedIdentity } from './identity.ts';
import { fingerprintOf } from './keys.ts';
import { own } from './bytes.ts';

type Bytes = Uint8Array<ArrayBuffer>;

interface TrustRow {
  trusted: Bytes;
  untrusted: Bytes | null;
  firstSeenAt: number;
  changedAt: number | null;
}

export interface StoreOptions {
  /** Clock for stored timestamps (ms); default Date.now. */
  clock?: () => number;
}

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

  /** Serialized SessionRecord per "peer.device"; null = known absent. */
  private readonly sessions = new Map<string, Bytes | null>();
  private readonly trust = new Map<string, TrustRow | null>();
  private readonly dirtySessions = new Set<string>();
  private readonly dirtyTrust = new Set<string>();
  private readonly removedPreKeys = new Set<number>();
  private readonly removedKyber = new Set<number>();
  private readonly kyberUses: { kyberId: number; signedId: number; baseKey: Uint8Array; at: number }[] = [];
  private pendingCommit: Promise<void> | null = null;
  /** Transactions written and the most writes one carried (for benchmarks and metrics). */
  readonly stats = { commits: 0, largestCommit: 0 };
  private readonly stmt;

  constructor(
    readonly db: Db,
    readonly self: UnlockedIdentity,
    opts: StoreOptions = {},
  ) {
    this.clock = opts.clock ?? Date.now;
    this.stmt = {
      getSession: db.prepare('SELECT record FROM sessions WHERE peer = ? AND device = ?'),
      putSession: db.prepare(
        'INSERT INTO sessions (peer, device, record, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(peer, device) DO UPDATE SET record = excluded.record, updated_at = excluded.updated_at',
      ),
      delSessions: db.prepare('DELETE FROM sessions WHERE peer = ?'),
      getTrust: db.prepare('SELECT trusted_key, untrusted_key, first_seen_at, changed_at FROM identities WHERE peer = ?'),
      putTrust: db.prepare(
        'INSERT INTO identities (peer, trusted_key, untrusted_key, first_seen_at, changed_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(peer) DO UPDATE SET trusted_key = excluded.trusted_key, untrusted_key = excluded.untrusted_key, changed_at = excluded.changed_at',
      ),
      getPreKey: db.prepare('SELECT record FROM prekeys WHERE id = ?'),
      delPreKey: db.prepare('DELETE FROM prekeys WHERE id = ?'),
      getSigned: db.prepare('SELECT record FROM signed_prekeys WHERE id = ?'),
      getKyber: db.prepare('SELECT record, kind FROM kyber_prekeys WHERE id = ?'),
      delKyber: db.prepare("DELETE FROM kyber_prekeys WHERE id = ? AND kind = 'one-time'"),
      getUse: db.prepare('SELECT 1 FROM kyber_last_resort_uses WHERE kyber_id = ? AND signed_prekey_id = ? AND base_key = ?'),
      putUse: db.prepare('INSERT OR IGNORE INTO kyber_last_resort_uses (kyber_id, signed_prekey_id, base_key, used_at) VALUES (?, ?, ?, ?)'),
    };
    this.session = new SqliteSessionStore(this);
    this.identity = new SqliteIdentityKeyStore(this);
    this.preKey = new SqlitePreKeyStore(this);
    this.signedPreKey = new SqliteSignedPreKeyStore(this);
    this.kyberPreKey = new SqliteKyberPreKeyStore(this);
  }

  // ---- sessions

  loadSession(peer: string, device: number): Bytes | null {
    const key = `${device}:${peer}`;
    if (this.sessions.has(key)) return this.sessions.get(key)!;
    const row = this.stmt.getSession.get(peer, device) as { record: Uint8Array } | undefined;
    const rec = row ? own(row.record) : null;
    this.sessions.set(key, rec);
    return rec;
  }

  storeSession(peer: string, device: number, record: Bytes): void {
    const key = `${device}:${peer}`;
    this.sessions.set(key, record);
    this.dirtySessions.add(key);
  }

  // ---- trust

  trustRow(peer: string): TrustRow | null {
    if (this.trust.has(peer)) return this.trust.get(peer)!;
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
   * they can no longer authenticate the peer.
   */
  trustNewIdentity(peer: string): void {
    const t = this.trustRow(peer);
    if (!t?.untrusted) throw new IdentityError('NO_UNTRUSTED_KEY', `contact "${peer}" has no changed identity key to accept`);
    this.setTrust(peer, { ...t, trusted: t.untrusted, untrusted: null, changedAt: this.clock() });
    for (const key of [...this.sessions.keys()]) if (key.slice(key.indexOf(':') + 1) === peer) this.sessions.delete(key);
    for (const key of [...this.dirtySessions]) if (key.slice(key.indexOf(':') + 1) === peer) this.dirtySessions.delete(key);
    this.flushNow(() => this.stmt.delSessions.run(peer));
  }

  // ---- prekeys (reads straight from SQLite; removals join the next commit)

  loadPreKey(id: number): Bytes | null {
    if (this.removedPreKeys.has(id)) return null;
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
    if (this.removedKyber.has(id)) return null;
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
    const seen =
      this.stmt.getUse.get(kyberId, signedId, baseKey) !== undefined ||
      this.kyberUses.some((u) => u.kyberId === kyberId && u.signedId === signedId && bytesEqual(u.baseKey, baseKey));
    if (seen) {
      throw new IdentityError('KYBER_PREKEY_REUSED', `last-resort Kyber prekey ${kyberId} was already used with this base key`);
    }
    this.kyberUses.push({ kyberId, signedId, baseKey, at: this.clock() });
  }

  // ---- durability

  get hasPendingWrites(): boolean {
    return (
      this.dirtySessions.size + this.dirtyTrust.size + this.removedPreKeys.size + this.removedKyber.size + this.kyberUses.length > 0
    );
  }

  /**
   * Group commit: writes everything pending in one transaction. Callers in the same turn of
   * the event loop share it (the flush runs on setImmediate), so N concurrent operations
   * cost one fsync. (Waiting more turns for stragglers was measured: no fewer commits.)
   */
  commit(): Promise<void> {
    if (!this.hasPendingWrites) return this.pendingCommit ?? Promise.resolve();
    if (this.pendingCommit) return this.pendingCommit;
    this.pendingCommit = new Promise<void>((resolve, reject) => {
      setImmediate(() => {
        this.pendingCommit = null;
        try {
          this.flushNow();
          resolve();
        } catch (e) {
          reject(e);
        }
      });
    });
    return this.pendingCommit;
  }

  /** Writes everything pending now, plus `extra` in the same transaction. */
  flushNow(extra?: () => void): void {
    const now = this.clock();
    const writes = this.dirtySessions.size + this.dirtyTrust.size + this.removedPreKeys.size + this.removedKyber.size + this.kyberUses.length;
    this.db.transaction(() => {
      for (const key of this.dirtySessions) {
        const rec = this.sessions.get(key);
        if (!rec) continue;
        const colon = key.indexOf(':');
        this.stmt.putSession.run(key.slice(colon + 1), Number(key.slice(0, colon)), rec, now);
      }
      for (const peer of this.dirtyTrust) {
        const t = this.trust.get(peer);
        if (t) this.stmt.putTrust.run(peer, t.trusted, t.untrusted, t.firstSeenAt, t.changedAt);
      }
      for (const id of this.removedPreKeys) this.stmt.delPreKey.run(id);
      for (const id of this.removedKyber) this.stmt.delKyber.run(id);
      for (const u of this.kyberUses) this.stmt.putUse.run(u.kyberId, u.signedId, u.baseKey, u.at);
      extra?.();
    })();
    this.stats.commits++;
    this.stats.largestCommit = Math.max(this.stats.largestCommit, writes);
    this.dirtySessions.clear();
    this.dirtyTrust.clear();
    this.removedPreKeys.clear();
    this.removedKyber.clear();
    this.kyberUses.length = 0;
  }

  /**
   * Forgets the uncommitted session changes of `peer` after its operation failed, so memory
   * never runs ahead of the database (operations are serialized per peer, so these changes
   * are that operation's). Trust changes are kept: a refused new key must be remembered.
   * Prekey removals are kept too: libsignal only makes them once a message decrypted.
   */
  rollback(peer: string): void {
    for (const key of [...this.dirtySessions]) {
      if (key.slice(key.indexOf(':') + 1) === peer) {
        this.dirtySessions.delete(key);
        this.sessions.delete(key);
      }
    }
  }
}

export class SqliteSessionStore extends SessionStore {
  constructor(private readonly s: SignalStores) {
    super();
  }
  override async saveSession(name: ProtocolAddress, record: SessionRecord): Promise<void> {
    this.s.storeSession(name.name(), name.deviceId(), record.serialize());
  }
  override async getSession(name: ProtocolAddress): Promise<SessionRecord | null> {
    const rec = this.s.loadSession(name.name(), name.deviceId());
    return rec ? SessionRecord.deserialize(rec) : null;
  }
  override async getExistingSessions(addresses: ProtocolAddress[]): Promise<SessionRecord[]> {
    return addresses.map((a) => {
      const rec = this.s.loadSession(a.name(), a.deviceId());
      if (!rec) throw new IdentityError('PREKEY_NOT_FOUND', `no session for ${a.name()}.${a.deviceId()}`);
      return SessionRecord.deserialize(rec);
    });
  }
}

export class SqliteIdentityKeyStore extends IdentityKeyStore {
  constructor(private readonly s: SignalStores) {
    super();
  }
  override async getIdentityKey(): Promise<PrivateKey> {
    return this.s.self.keyPair.privateKey;
  }
  override async getLocalRegistrationId(): Promise<number> {
    return this.s.self.registrationId;
  }
  override async saveIdentity(name: ProtocolAddress, key: PublicKey): Promise<IdentityChange> {
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
  override async isTrustedIdentity(name: ProtocolAddress, key: PublicKey, _direction: Direction): Promise<boolean> {
    const peer = name.name();
    const t = this.s.trustRow(peer);
    if (t === null) return true;
    const k = key.serialize();
    if (bytesEqual(t.trusted, k)) return true;
    if (!t.untrusted || !bytesEqual(t.untrusted, k)) this.s.setTrust(peer, { ...t, untrusted: k, changedAt: this.s.clock() });
    return false;
  }
  override async getIdentity(name: ProtocolAddress): Promise<PublicKey | null> {
    const t = this.s.trustRow(name.name());
    return t ? PublicKey.deserialize(own(t.trusted)) : null;
  }
}

export class SqlitePreKeyStore extends PreKeyStore {
  constructor(private readonly s: SignalStores) {
    super();
  }
  override async savePreKey(id: number, record: PreKeyRecord): Promise<void> {
    // Prekeys are created by PrekeyManager (with satpost's signature); libsignal never saves them.
    throw new IdentityError('PREKEY_NOT_FOUND', `savePreKey(${id}, ${record.id()}) is not used; create prekeys with PrekeyManager`);
  }
  override async getPreKey(id: number): Promise<PreKeyRecord> {
    const rec = this.s.loadPreKey(id);
    if (!rec) throw new IdentityError('PREKEY_NOT_FOUND', `one-time prekey ${id} not found (already used or never issued)`);
    return PreKeyRecord.deserialize(rec);
  }
  override async removePreKey(id: number): Promise<void> {
    this.s.removePreKey(id);
  }
}

export class SqliteSignedPreKeyStore extends SignedPreKeyStore {
  constructor(private readonly s: SignalStores) {
    super();
  }
  override async saveSignedPreKey(id: number, record: SignedPreKeyRecord): Promise<void> {
    this.s.db
      .prepare('INSERT OR REPLACE INTO signed_prekeys (id, record, created_at) VALUES (?, ?, ?)')
      .run(id, record.serialize(), record.timestamp());
  }
  override async getSignedPreKey(id: number): Promise<SignedPreKeyRecord> {
    const rec = this.s.loadSignedPreKey(id);
    if (!rec) throw new IdentityError('PREKEY_NOT_FOUND', `signed prekey ${id} not found (expired past its grace period?)`);
    return SignedPreKeyRecord.deserialize(rec);
  }
}

export class SqliteKyberPreKeyStore extends KyberPreKeyStore {
  constructor(private readonly s: SignalStores) {
    super();
  }
  override async saveKyberPreKey(id: number, record: KyberPreKeyRecord): Promise<void> {
    this.s.db
      .prepare("INSERT OR REPLACE INTO kyber_prekeys (id, kind, record, created_at) VALUES (?, 'one-time', ?, ?)")
      .run(id, record.serialize(), record.timestamp());
  }
  override async getKyberPreKey(id: number): Promise<KyberPreKeyRecord> {
    const k = this.s.loadKyber(id);
    if (!k) throw new IdentityError('PREKEY_NOT_FOUND', `Kyber prekey ${id} not found (already used or never issued)`);
    return KyberPreKeyRecord.deserialize(k.record);
  }
  override async markKyberPreKeyUsed(kyberPreKeyId: number, signedPreKeyId: number, baseKey: PublicKey): Promise<void> {
    this.s.markKyberUsed(kyberPreKeyId, signedPreKeyId, baseKey.serialize());
  }
}
