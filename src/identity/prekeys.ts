/**
 * The user's prekeys ("the series of keys"): one signed Curve25519 prekey, one last-resort
 * Kyber1024 prekey, and pools of one-time Curve25519 and Kyber prekeys, in the identity
 * database. Follows Signal's rules: one-time keys are deleted when a session uses them; the
 * signed prekey and last-resort Kyber key rotate together every `rotationMs` and the previous
 * ones stay usable for `graceMs` (messages sit in relays for up to their retention); a
 * last-resort key never serves the same base key twice (stores.ts).
 */
import { KEMKeyPair, KyberPreKeyRecord, PreKeyRecord, PrivateKey, SignedPreKeyRecord } from '@signalapp/libsignal-client';
import type { Db } from '../store/sqlite.ts';
import { nextId } from './db.ts';
import type { UnlockedIdentity } from './identity.ts';
import { DEVICE_ID } from './bundle.ts';
import { MAX_KYBER_PREKEYS, MAX_ONE_TIME_PREKEYS, oneTimePreKeyPayload, type PrekeyBundle, type SignedEcPreKey, type SignedKyberPreKey } from '../core/objects/prekey-bundle.ts';
import { own } from './bytes.ts';

const DAY_MS = 24 * 3600 * 1000;

export interface PrekeyPolicy {
  /** One-time Curve25519 prekeys to keep published. Default 100. */
  poolSize: number;
  /** One-time Kyber prekeys to keep published. Default 20 (each is 1.6 KB public, 3.2 KB stored). */
  kyberPoolSize: number;
  /** Replenish when the published pool falls below this many keys. Default 20 (Kyber: 5). */
  threshold: number;
  kyberThreshold: number;
  /** Signed prekey and last-resort Kyber rotation period (ms). Default 7 days. */
  rotationMs: number;
  /** Retired signed / last-resort keys stay usable this long (ms). Default 30 days. */
  graceMs: number;
}

export const DEFAULT_PREKEY_POLICY: PrekeyPolicy = {
  poolSize: 100,
  kyberPoolSize: 20,
  threshold: 20,
  kyberThreshold: 5,
  rotationMs: 7 * DAY_MS,
  graceMs: 30 * DAY_MS,
};

export interface PrekeyCounts {
  oneTime: number;
  oneTimeUnpublished: number;
  kyber: number;
  kyberUnpublished: number;
  signed: number;
  lastResort: number;
}

export class PrekeyManager {
  readonly policy: PrekeyPolicy;

  constructor(
    private readonly db: Db,
    private readonly self: UnlockedIdentity,
    policy: Partial<PrekeyPolicy> = {},
  ) {
    this.policy = { ...DEFAULT_PREKEY_POLICY, ...policy };
    if (this.policy.poolSize > MAX_ONE_TIME_PREKEYS || this.policy.kyberPoolSize > MAX_KYBER_PREKEYS) {
      throw new RangeError(`pool sizes must be at most ${MAX_ONE_TIME_PREKEYS} / ${MAX_KYBER_PREKEYS}`);
    }
  }

  /** Creates the signed prekey, last-resort Kyber key and full pools if missing. Idempotent. */
  initialize(now: number): void {
    this.db.transaction(() => {
      if (this.currentSigned() === undefined) this.createSignedPair(now);
      this.fill(now, this.policy.poolSize, this.policy.kyberPoolSize);
    })();
  }

  counts(): PrekeyCounts {
    const one = (sql: string): number => (this.db.prepare(sql).get() as { n: number }).n;
    return {
      oneTime: one('SELECT count(*) AS n FROM prekeys'),
      oneTimeUnpublished: one('SELECT count(*) AS n FROM prekeys WHERE published_at IS NULL'),
      kyber: one("SELECT count(*) AS n FROM kyber_prekeys WHERE kind = 'one-time'"),
      kyberUnpublished: one("SELECT count(*) AS n FROM kyber_prekeys WHERE kind = 'one-time' AND published_at IS NULL"),
      signed: one('SELECT count(*) AS n FROM signed_prekeys'),
      lastResort: one("SELECT count(*) AS n FROM kyber_prekeys WHERE kind = 'last-resort'"),
    };
  }

  /**
   * Tops up the pools when the relay reports fewer than the threshold left (default: the
   * keys not yet used locally, an upper bound of what the relay still holds). New keys are
   * unpublished until the next buildBundle(). Returns how many keys were added.
   */
  replenish(now: number, remaining?: { oneTime?: number; kyber?: number }): { oneTime: number; kyber: number } {
    const c = this.counts();
    const ecLeft = remaining?.oneTime ?? c.oneTime;
    const kyLeft = remaining?.kyber ?? c.kyber;
    const ecAdd = ecLeft < this.policy.threshold ? this.policy.poolSize - ecLeft : 0;
    const kyAdd = kyLeft < this.policy.kyberThreshold ? this.policy.kyberPoolSize - kyLeft : 0;
    if (ecAdd > 0 || kyAdd > 0) this.db.transaction(() => this.addKeys(now, ecAdd, kyAdd))();
    return { oneTime: ecAdd, kyber: kyAdd };
  }

  /**
   * Rotates the signed prekey and last-resort Kyber key when the current ones are older than
   * rotationMs (or `force`), retires the old pair and deletes pairs retired longer than graceMs.
   * Returns true when a new pair was made (publish a new bundle then).
   */
  rotateSignedPrekey(now: number, opts: { force?: boolean } = {}): boolean {
    return this.db.transaction(() => {
      const current = this.currentSigned();
      const due = current === undefined || opts.force === true || now - current.created_at >= this.policy.rotationMs;
      if (due) {
        this.db.prepare('UPDATE signed_prekeys SET retired_at = ? WHERE retired_at IS NULL').run(now);
        this.db.prepare("UPDATE kyber_prekeys SET retired_at = ? WHERE kind = 'last-resort' AND retired_at IS NULL").run(now);
        this.createSignedPair(now);
      }
      const cutoff = now - this.policy.graceMs;
      this.db.prepare('DELETE FROM signed_prekeys WHERE retired_at IS NOT NULL AND retired_at <= ?').run(cutoff);
      this.db.prepare("DELETE FROM kyber_prekeys WHERE kind = 'last-resort' AND retired_at IS NOT NULL AND retired_at <= ?").run(cutoff);
      return due;
    })();
  }

  /**
   * The bundle to publish: current signed and last-resort keys, and every one-time key not
   * yet published (at most the per-bundle maximum), which are then marked published so no
   * key is ever handed to relays twice.
   */
  buildBundle(now: number): PrekeyBundle {
    return this.db.transaction(() => {
      const signedRow = this.currentSigned();
      const lastResortRow = this.db
        .prepare("SELECT id, record FROM kyber_prekeys WHERE kind = 'last-resort' AND retired_at IS NULL ORDER BY id DESC LIMIT 1")
        .get() as { id: number; record: Uint8Array } | undefined;
      if (signedRow === undefined || lastResortRow === undefined) {
        throw new RangeError('prekeys not initialized: call initialize() first');
      }
      const signed = SignedPreKeyRecord.deserialize(own(signedRow.record));
      const ecRows = this.db
        .prepare('SELECT id, record, signature FROM prekeys WHERE published_at IS NULL ORDER BY id LIMIT ?')
        .all(MAX_ONE_TIME_PREKEYS) as { id: number; record: Uint8Array; signature: Uint8Array }[];
      const kyRows = this.db
        .prepare("SELECT id, record FROM kyber_prekeys WHERE kind = 'one-time' AND published_at IS NULL ORDER BY id LIMIT ?")
        .all(MAX_KYBER_PREKEYS) as { id: number; record: Uint8Array }[];
      const markEc = this.db.prepare('UPDATE prekeys SET published_at = ? WHERE id = ?');
      const markKy = this.db.prepare('UPDATE kyber_prekeys SET published_at = ? WHERE id = ?');
      for (const r of ecRows) markEc.run(now, r.id);
      for (const r of kyRows) markKy.run(now, r.id);
      return {
        identityKey: this.self.publicKey,
        registrationId: this.self.registrationId,
        deviceId: DEVICE_ID,
        signedPreKey: { id: signed.id(), publicKey: signed.publicKey().serialize(), signature: signed.signature() },
        lastResortKyber: kyberPublic(lastResortRow.record),
        oneTimePreKeys: ecRows.map((r): SignedEcPreKey => {
          const rec = PreKeyRecord.deserialize(own(r.record));
          return { id: rec.id(), publicKey: rec.publicKey().serialize(), signature: new Uint8Array(r.signature) };
        }),
        kyberPreKeys: kyRows.map((r) => kyberPublic(r.record)),
        publishedAt: now,
      };
    })();
  }

  private currentSigned(): { id: number; record: Uint8Array; created_at: number } | undefined {
    return this.db.prepare('SELECT id, record, created_at FROM signed_prekeys WHERE retired_at IS NULL ORDER BY id DESC LIMIT 1').get() as
      | { id: number; record: Uint8Array; created_at: number }
      | undefined;
  }

  private fill(now: number, ecTarget: number, kyTarget: number): void {
    const c = this.counts();
    this.addKeys(now, Math.max(0, ecTarget - c.oneTime), Math.max(0, kyTarget - c.kyber));
  }

  private createSignedPair(now: number): void {
    const identity = this.self.keyPair.privateKey;
    const spk = PrivateKey.generate();
    const spkId = nextId(this.db, 'signed');
    const spkRec = SignedPreKeyRecord.new(spkId, now, spk.getPublicKey(), spk, identity.sign(spk.getPublicKey().serialize()));
    this.db.prepare('INSERT INTO signed_prekeys (id, record, created_at) VALUES (?, ?, ?)').run(spkId, spkRec.serialize(), now);
    this.insertKyber(now, 'last-resort');
  }

  private addKeys(now: number, ec: number, kyber: number): void {
    const identity = this.self.keyPair.privateKey;
    const insert = this.db.prepare('INSERT INTO prekeys (id, record, signature, created_at) VALUES (?, ?, ?, ?)');
    for (let i = 0; i < ec; i++) {
      const id = nextId(this.db, 'prekey');
      const priv = PrivateKey.generate();
      const pub = priv.getPublicKey();
      const signature = identity.sign(own(oneTimePreKeyPayload(id, pub.serialize())));
      insert.run(id, PreKeyRecord.new(id, pub, priv).serialize(), signature, now);
    }
    for (let i = 0; i < kyber; i++) this.insertKyber(now, 'one-time');
  }

  private insertKyber(now: number, kind: 'one-time' | 'last-resort'): void {
    const id = nextId(this.db, 'kyber');
    const kp = KEMKeyPair.generate();
    const rec = KyberPreKeyRecord.new(id, now, kp, this.self.keyPair.privateKey.sign(kp.getPublicKey().serialize()));
    this.db.prepare('INSERT INTO kyber_prekeys (id, kind, record, created_at) VALUES (?, ?, ?, ?)').run(id, kind, rec.serialize(), now);
  }
}

function kyberPublic(record: Uint8Array): SignedKyberPreKey {
  const rec = KyberPreKeyRecord.deserialize(own(record));
  return { id: rec.id(), publicKey: rec.publicKey().serialize(), signature: rec.signature() };
}
