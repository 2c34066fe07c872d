/**
 * Prekey bundles held by a relay for the mailboxes it serves ("the series of keys" a sender
 * fetches to start a Signal session with an offline recipient; src/core/objects/prekey-bundle.ts).
 *
 *   POST /v1/prekeys              body PrekeyPublish (0x0d) bytes: a bundle signed by its
 *                                 identity key for THIS relay (src/core/objects/prekey-publish.ts).
 *                                 Refused: a bare PrekeyBundle (PUBLISH_AUTH_REQUIRED, clients
 *                                 before signed publishes), another relay's id
 *                                 (PUBLISH_WRONG_RELAY), a timestamp or publishedAt outside the
 *                                 clock skew (PUBLISH_STALE), a bad key signature (BAD_BUNDLE),
 *                                 a bad publish signature (PUBLISH_BAD_SIGNATURE), a nonce seen
 *                                 before (PUBLISH_REPLAYED), an older publishedAt, signed prekey
 *                                 or last-resort Kyber key than held (PUBLISH_BACKDATED). The
 *                                 mailbox is H("satpost/v1/mailbox" || identityKey). One-time
 *                                 keys whose id was handed out before are dropped (never back
 *                                 in the pool), the rest merged (mergeBundles).
 *                                 200 {"mailbox","oneTimePreKeys","kyberPreKeys","usedIgnored":
 *                                 {"oneTime","kyber"}}: the pool sizes now held, so the owner
 *                                 knows when to replenish, and the used keys it sent.
 *   GET  /v1/prekeys/:mailboxHex  200 PrekeyBundle bytes with at most one one-time EC and one
 *                                 one-time Kyber prekey, each removed from the pool (and its id
 *                                 remembered as used) before the answer is sent (takeForFetch):
 *                                 no one-time key is handed to two senders, even across a crash.
 *                                 Past the fetch limits (per mailbox and per requesting address,
 *                                 token buckets per hour) the answer carries no one-time key:
 *                                 the signed prekey and last-resort Kyber key still start a
 *                                 session, and nobody drains the pool. 404 NO_BUNDLE.
 *
 * Schema (store "prekeys" in relay.sqlite, versions in store_versions; src/store/sqlite.ts):
 *   prekey_bundles         mailbox BLOB PK, bundle BLOB (the merged pool, canonical
 *                          PrekeyBundle bytes), updated_at INTEGER (unix ms).
 *   prekey_used_ids        (mailbox, kind 1 EC / 2 Kyber, id) PK: one-time key ids handed out.
 *                          At most `prekeyUsedIdsMax` per mailbox and kind: past that the lowest
 *                          ids are dropped and folded into the floor (clients count ids up).
 *   prekey_used_floors     (mailbox, kind) PK, floor: every id <= floor counts as used.
 *   prekey_publish_nonces  (mailbox, nonce) PK, expires_at ms: publishes taken, kept while
 *                          their timestamp is within the clock skew.
 *
 * Writes go through the relay's single group-commit writer, so an answer is a durable fact.
 */
import type { FastifyInstance } from 'fastify';
import { hex } from '@scure/base';
import { bytesEqual } from '../core/hash.ts';
import { migrateStore, type Db } from '../store/sqlite.ts';
import { IdentityError } from '../identity/errors.ts';
import { mailboxIdOf } from '../identity/keys.ts';
import { mergeBundles, verifyBundle } from '../identity/bundle.ts';
import { PREKEY_BUNDLE_TAG, PrekeyBundleCodec, takeForFetch, type PrekeyBundle } from '../core/objects/prekey-bundle.ts';
import { verifyPrekeyPublish } from '../identity/prekey-publish.ts';
import { PREKEY_PUBLISH_TAG, PrekeyPublishCodec } from '../core/objects/prekey-publish.ts';
import { RelayError } from './errors.ts';
import { binaryObject, type RouteApi } from './openapi.ts';
import { RateLimiter } from './rate-limit.ts';
import type { GroupCommitWriter } from './writer.ts';

export const PREKEY_STORE = 'prekeys';
export const PREKEY_MIGRATIONS: readonly string[] = [
  `CREATE TABLE prekey_bundles (
     mailbox BLOB PRIMARY KEY,
     bundle BLOB NOT NULL,
     updated_at INTEGER NOT NULL
   ) WITHOUT ROWID;`,
  `CREATE TABLE prekey_used_ids (mailbox BLOB NOT NULL, kind INTEGER NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (mailbox, kind, id)) WITHOUT ROWID;
   CREATE TABLE prekey_used_floors (mailbox BLOB NOT NULL, kind INTEGER NOT NULL, floor INTEGER NOT NULL, PRIMARY KEY (mailbox, kind)) WITHOUT ROWID;
   CREATE TABLE prekey_publish_nonces (mailbox BLOB NOT NULL, nonce BLOB NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (mailbox, nonce)) WITHOUT ROWID;
   CREATE INDEX prekey_publish_nonces_expiry ON prekey_publish_nonces (expires_at);`,
];

export interface PoolSizes {
  /** Hex mailbox id the bundle was stored under. */
  mailbox: string;
  oneTimePreKeys: number;
  kyberPreKeys: number;
}

/** The answer to a publish: the pool now held, and the one-time keys dropped as used before. */
export interface PublishAnswer extends PoolSizes {
  usedIgnored: { oneTime: number; kyber: number };
}

/** What the relay's settings decide for prekeys (src/relay/config.ts). */
export interface PrekeyRules {
  /** This relay's ed25519 node key: a publish must name it. */
  relayId: Uint8Array;
  authMaxSkewSecs: number;
  /** One-time keys handed out per mailbox / per requesting address per hour; 0: no limit. */
  prekeyFetchPerMailboxPerHour: number;
  prekeyFetchPerIpPerHour: number;
  /** Used one-time key ids remembered exactly per mailbox and kind (then as a floor). */
  prekeyUsedIdsMax: number;
}

const EC = 1;
const KYBER = 2;
type Kind = typeof EC | typeof KYBER;

export class RelayPrekeys {
  private readonly stmt;
  private readonly perMailbox: RateLimiter;
  private readonly perIp: RateLimiter;

  constructor(
    db: Db,
    private readonly writer: GroupCommitWriter,
    private readonly rules: PrekeyRules,
    private readonly now: () => number = Date.now,
  ) {
    migrateStore(db, PREKEY_STORE, PREKEY_MIGRATIONS);
    this.stmt = {
      get: db.prepare('SELECT bundle FROM prekey_bundles WHERE mailbox = ?'),
      put: db.prepare(
        'INSERT INTO prekey_bundles (mailbox, bundle, updated_at) VALUES (?, ?, ?) ON CONFLICT (mailbox) DO UPDATE SET bundle = excluded.bundle, updated_at = excluded.updated_at',
      ),
      isUsed: db.prepare(
        'SELECT EXISTS (SELECT 1 FROM prekey_used_ids WHERE mailbox = @mailbox AND kind = @kind AND id = @id) OR EXISTS (SELECT 1 FROM prekey_used_floors WHERE mailbox = @mailbox AND kind = @kind AND floor >= @id) AS used',
      ),
      markUsed: db.prepare('INSERT OR IGNORE INTO prekey_used_ids (mailbox, kind, id) VALUES (?, ?, ?)'),
      countUsed: db.prepare('SELECT count(*) AS n FROM prekey_used_ids WHERE mailbox = ? AND kind = ?'),
      nthUsed: db.prepare('SELECT id FROM prekey_used_ids WHERE mailbox = ? AND kind = ? ORDER BY id LIMIT 1 OFFSET ?'),
      dropUsed: db.prepare('DELETE FROM prekey_used_ids WHERE mailbox = ? AND kind = ? AND id <= ?'),
      raiseFloor: db.prepare(
        'INSERT INTO prekey_used_floors (mailbox, kind, floor) VALUES (?, ?, ?) ON CONFLICT (mailbox, kind) DO UPDATE SET floor = max(floor, excluded.floor)',
      ),
      pruneNonces: db.prepare('DELETE FROM prekey_publish_nonces WHERE expires_at < ?'),
      takeNonce: db.prepare('INSERT OR IGNORE INTO prekey_publish_nonces (mailbox, nonce, expires_at) VALUES (?, ?, ?)'),
    };
    const bucket = (perHour: number): RateLimiter => new RateLimiter(perHour, perHour / 3600, now);
    this.perMailbox = bucket(rules.prekeyFetchPerMailboxPerHour);
    this.perIp = bucket(rules.prekeyFetchPerIpPerHour);
  }

  /**
   * Checks a PrekeyPublish (its relay, freshness, every signature, that it does not go back
   * in time) and merges its bundle into the pool, minus one-time keys handed out before.
   * Throws RelayError (see the module comment); a refused publish changes nothing.
   */
  async publish(bytes: Uint8Array): Promise<PublishAnswer> {
    if (bytes[0] === PREKEY_BUNDLE_TAG) {
      throw new RelayError(
        'PUBLISH_AUTH_REQUIRED',
        'a bare PrekeyBundle (0x0a) is no longer taken: this relay needs a PrekeyPublish (0x0d) signed by the identity key for this relay, as satpost clients with signed prekey publishes send; upgrade the client',
        { details: { needs: 'PrekeyPublish', tag: PREKEY_PUBLISH_TAG } },
      );
    }
    const p = PrekeyPublishCodec.decode(bytes);
    if (!bytesEqual(p.relayId, this.rules.relayId)) {
      throw new RelayError('PUBLISH_WRONG_RELAY', `this publish is for relay ${hex.encode(p.relayId)}, not this relay (${hex.encode(this.rules.relayId)})`);
    }
    const now = this.now();
    const skew = this.rules.authMaxSkewSecs * 1000;
    if (Math.abs(now - p.timestamp) > skew) {
      throw new RelayError('PUBLISH_STALE', `"timestamp" expected within ${this.rules.authMaxSkewSecs} s of the relay's clock, got ${Math.round((p.timestamp - now) / 1000)} s off`);
    }
    // A future publishedAt would make every honest publish until then look back-dated.
    if (p.bundle.publishedAt > now + skew) {
      throw new RelayError('PUBLISH_STALE', `"publishedAt" is ${Math.round((p.bundle.publishedAt - now) / 1000)} s ahead of the relay's clock (at most ${this.rules.authMaxSkewSecs} s)`);
    }
    const update = p.bundle;
    const mailbox = mailboxIdOf(update.identityKey);
    try {
      verifyBundle(update, mailbox);
    } catch (err) {
      if (err instanceof IdentityError) throw new RelayError('BAD_BUNDLE', err.message, { cause: err, details: { reason: err.code } });
      throw err;
    }
    if (!verifyPrekeyPublish(p)) {
      throw new RelayError('PUBLISH_BAD_SIGNATURE', "the publish signature is not the bundle identity key's over this bundle, relay, timestamp and nonce");
    }
    return this.writer.submit(() => {
      this.stmt.pruneNonces.run(now - skew);
      if (this.stmt.takeNonce.run(mailbox, p.nonce, p.timestamp + skew).changes !== 1) {
        throw new RelayError('PUBLISH_REPLAYED', 'this publish was taken before; sign a fresh one (new nonce and timestamp)');
      }
      const held = this.held(mailbox);
      if (held) refuseBackdated(held, update);
      const ec = update.oneTimePreKeys.filter((k) => !this.isUsed(mailbox, EC, k.id));
      const kyber = update.kyberPreKeys.filter((k) => !this.isUsed(mailbox, KYBER, k.id));
      const fresh: PrekeyBundle = { ...update, oneTimePreKeys: ec, kyberPreKeys: kyber };
      const merged = held ? mergeBundles(held, fresh) : fresh;
      this.stmt.put.run(mailbox, PrekeyBundleCodec.encode(merged), this.now());
      return {
        ...sizes(mailbox, merged),
        usedIgnored: { oneTime: update.oneTimePreKeys.length - ec.length, kyber: update.kyberPreKeys.length - kyber.length },
      };
    });
  }

  /**
   * The bundle for one sender: its one-time keys leave the pool and their ids are remembered
   * as used. Past a fetch limit (of the mailbox or of `requester`, the client's address) it
   * carries none and the pool is untouched. Throws RelayError NO_BUNDLE.
   */
  take(mailbox: Uint8Array, requester: string): Promise<Uint8Array> {
    // Decided before the write: the writer may run an op twice, tokens must be taken once.
    // The address first, so one client over its limit cannot spend the mailbox's tokens.
    const handOut = this.perIp.take(requester) && this.perMailbox.take(hex.encode(mailbox));
    return this.writer.submit(() => {
      const held = this.held(mailbox);
      if (!held) throw new RelayError('NO_BUNDLE', 'no prekey bundle is published for this mailbox here');
      if (!handOut) return PrekeyBundleCodec.encode({ ...held, oneTimePreKeys: [], kyberPreKeys: [] });
      const { fetched, remaining } = takeForFetch(held);
      if (remaining.oneTimePreKeys.length !== held.oneTimePreKeys.length || remaining.kyberPreKeys.length !== held.kyberPreKeys.length) {
        for (const k of fetched.oneTimePreKeys) this.markUsed(mailbox, EC, k.id);
        for (const k of fetched.kyberPreKeys) this.markUsed(mailbox, KYBER, k.id);
        this.stmt.put.run(mailbox, PrekeyBundleCodec.encode(remaining), this.now());
      }
      return PrekeyBundleCodec.encode(fetched);
    });
  }

  /**
   * What this relay holds for `mailbox` (pool sizes), or undefined for nothing. Read-only:
   * answering the relay network's lookups never consumes a key.
   */
  poolSizes(mailbox: Uint8Array): PoolSizes | undefined {
    const held = this.held(mailbox);
    return held && sizes(mailbox, held);
  }

  private held(mailbox: Uint8Array): PrekeyBundle | undefined {
    const row = this.stmt.get.get(mailbox) as { bundle: Uint8Array } | undefined;
    return row && PrekeyBundleCodec.decode(new Uint8Array(row.bundle));
  }

  private isUsed(mailbox: Uint8Array, kind: Kind, id: number): boolean {
    return (this.stmt.isUsed.get({ mailbox, kind, id }) as { used: number }).used === 1;
  }

  /** Remembers a handed-out id; past the cap the lowest ids fold into the floor. */
  private markUsed(mailbox: Uint8Array, kind: Kind, id: number): void {
    this.stmt.markUsed.run(mailbox, kind, id);
    const { n } = this.stmt.countUsed.get(mailbox, kind) as { n: number };
    const excess = n - this.rules.prekeyUsedIdsMax;
    if (excess <= 0) return;
    const { id: cut } = this.stmt.nthUsed.get(mailbox, kind, excess - 1) as { id: number };
    this.stmt.dropUsed.run(mailbox, kind, cut);
    this.stmt.raiseFloor.run(mailbox, kind, cut);
  }
}

function sizes(mailbox: Uint8Array, b: PrekeyBundle): PoolSizes {
  return { mailbox: hex.encode(mailbox), oneTimePreKeys: b.oneTimePreKeys.length, kyberPreKeys: b.kyberPreKeys.length };
}

/** A publish may not take the pool back to an older bundle, signed prekey or last-resort key. */
function refuseBackdated(held: PrekeyBundle, update: PrekeyBundle): void {
  const older = (what: string, got: number, have: number): RelayError =>
    new RelayError('PUBLISH_BACKDATED', `${what} ${got} is older than the ${have} this relay holds`, { details: { field: what } });
  if (update.publishedAt < held.publishedAt) throw older('publishedAt', update.publishedAt, held.publishedAt);
  if (update.signedPreKey.id < held.signedPreKey.id) throw older('signedPreKey.id', update.signedPreKey.id, held.signedPreKey.id);
  if (update.lastResortKyber.id < held.lastResortKyber.id) throw older('lastResortKyber.id', update.lastResortKyber.id, held.lastResortKyber.id);
}

const OCTET = 'application/octet-stream';
const HEX32 = /^[0-9a-f]{64}$/;

const PREKEY_API = {
  publish: {
    summary: 'Publish a prekey bundle',
    description: 'A prekey bundle signed by its identity key for this relay, a timestamp and a nonce. A refused publish changes nothing; one-time keys handed out before are dropped and counted.',
    tags: ['prekeys'],
    body: { binary: [binaryObject('PrekeyPublish', PREKEY_PUBLISH_TAG)] },
    responses: {
      200: {
        description: 'The pool now held',
        body: {
          json: {
            type: 'object',
            properties: { mailbox: { type: 'string' }, oneTimePreKeys: { type: 'integer' }, kyberPreKeys: { type: 'integer' }, usedIgnored: { type: 'object', properties: { oneTime: { type: 'integer' }, kyber: { type: 'integer' } } } },
            required: ['mailbox', 'oneTimePreKeys', 'kyberPreKeys', 'usedIgnored'],
          },
        },
      },
    },
    errors: ['PUBLISH_AUTH_REQUIRED', 'BAD_ENCODING', 'PUBLISH_WRONG_RELAY', 'PUBLISH_STALE', 'BAD_BUNDLE', 'PUBLISH_BAD_SIGNATURE', 'PUBLISH_REPLAYED', 'PUBLISH_BACKDATED'],
  },
  fetch: {
    summary: 'Fetch a prekey bundle',
    description: 'The signed prekey, the last-resort Kyber key and at most one one-time EC and one one-time Kyber prekey, taken from the pool (past the fetch rate limits: without one-time keys).',
    tags: ['prekeys'],
    params: { mailbox: { description: 'the mailbox (64 lowercase hex)', schema: { type: 'string', pattern: '^[0-9a-f]{64}$' } } },
    responses: { 200: { description: 'The bundle', body: { binary: [binaryObject('PrekeyBundle', PREKEY_BUNDLE_TAG)] } } },
    errors: ['NO_BUNDLE'],
  },
} satisfies Record<string, RouteApi>;

/** Adds the two prekey routes to the relay's Fastify app (before it listens). */
export function registerPrekeyRoutes(app: FastifyInstance, prekeys: RelayPrekeys): void {
  app.post('/v1/prekeys', { schema: { api: PREKEY_API.publish } }, async (req) => {
    if (!(req.body instanceof Uint8Array)) throw new RelayError('BAD_CONTENT_TYPE', `expected a ${OCTET} body`);
    return prekeys.publish(req.body);
  });
  app.get('/v1/prekeys/:mailbox', { schema: { api: PREKEY_API.fetch } }, async (req, reply) => {
    const m = (req.params as { mailbox: string }).mailbox;
    if (!HEX32.test(m)) throw new RelayError('BAD_REQUEST', `"mailbox" expected 64 lowercase hex characters, got ${JSON.stringify(m)}`);
    const bytes = await prekeys.take(hex.decode(m), req.ip);
    return reply.type(OCTET).send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });
}
