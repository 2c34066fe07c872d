/**
 * Prekey bundles held by a relay for the mailboxes it serves ("the series of keys" a sender
 * fetches to start a Signal session with an offline recipient; src/identity/bundle.ts).
 *
 *   POST /v1/prekeys              body PrekeyBundle (0x0a) bytes. Every signature is checked
 *                                 (verifyBundle); the mailbox is H("satpost/v1/mailbox" ||
 *                                 identityKey), so only the key's owner can publish for it.
 *                                 The bundle is merged into what the relay holds (mergeBundles).
 *                                 200 {"mailbox","oneTimePreKeys","kyberPreKeys"}: the pool
 *                                 sizes now held, so the owner knows when to replenish.
 *   GET  /v1/prekeys/:mailboxHex  200 PrekeyBundle bytes with at most one one-time EC and one
 *                                 one-time Kyber prekey, each removed from the pool before the
 *                                 answer is sent (takeForFetch): no one-time key is handed to
 *                                 two senders, even across a crash. 404 NO_BUNDLE.
 *
 * Schema (store "prekeys" in relay.sqlite, versions in store_versions; src/store/sqlite.ts):
 *   prekey_bundles   mailbox BLOB PK, bundle BLOB (the merged pool, canonical PrekeyBundle
 *                    bytes), updated_at INTEGER (unix ms).
 *
 * Writes go through the relay's single group-commit writer, so an answer is a durable fact.
 */
import type { FastifyInstance } from 'fastify';
import { hex } from '@scure/base';
import { migrateStore, type Db } from '../store/sqlite.ts';
import { IdentityError } from '../identity/errors.ts';
import { mailboxIdOf } from '../identity/keys.ts';
import { PrekeyBundleCodec, mergeBundles, takeForFetch, verifyBundle, type PrekeyBundle } from '../identity/bundle.ts';
import { RelayError } from './errors.ts';
import type { GroupCommitWriter } from './writer.ts';

export const PREKEY_STORE = 'prekeys';
export const PREKEY_MIGRATIONS: readonly string[] = [
  `CREATE TABLE prekey_bundles (
     mailbox BLOB PRIMARY KEY,
     bundle BLOB NOT NULL,
     updated_at INTEGER NOT NULL
   ) WITHOUT ROWID;`,
];

export interface PoolSizes {
  /** Hex mailbox id the bundle was stored under. */
  mailbox: string;
  oneTimePreKeys: number;
  kyberPreKeys: number;
}

export class RelayPrekeys {
  private readonly stmt;

  constructor(
    db: Db,
    private readonly writer: GroupCommitWriter,
    private readonly now: () => number = Date.now,
  ) {
    migrateStore(db, PREKEY_STORE, PREKEY_MIGRATIONS);
    this.stmt = {
      get: db.prepare('SELECT bundle FROM prekey_bundles WHERE mailbox = ?'),
      put: db.prepare(
        'INSERT INTO prekey_bundles (mailbox, bundle, updated_at) VALUES (?, ?, ?) ON CONFLICT (mailbox) DO UPDATE SET bundle = excluded.bundle, updated_at = excluded.updated_at',
      ),
    };
  }

  /** Verifies and merges a published bundle. Throws RelayError BAD_BUNDLE (with `reason`). */
  async publish(bytes: Uint8Array): Promise<PoolSizes> {
    const update = PrekeyBundleCodec.decode(bytes);
    const mailbox = mailboxIdOf(update.identityKey);
    try {
      verifyBundle(update, mailbox);
    } catch (err) {
      if (err instanceof IdentityError) throw new RelayError('BAD_BUNDLE', err.message, { cause: err, details: { reason: err.code } });
      throw err;
    }
    return this.writer.submit(() => {
      const held = this.held(mailbox);
      const merged = held ? mergeBundles(held, update) : update;
      this.stmt.put.run(mailbox, PrekeyBundleCodec.encode(merged), this.now());
      return { mailbox: hex.encode(mailbox), oneTimePreKeys: merged.oneTimePreKeys.length, kyberPreKeys: merged.kyberPreKeys.length };
    });
  }

  /** The bundle for one sender; its one-time keys leave the pool. Throws RelayError NO_BUNDLE. */
  take(mailbox: Uint8Array): Promise<Uint8Array> {
    return this.writer.submit(() => {
      const held = this.held(mailbox);
      if (!held) throw new RelayError('NO_BUNDLE', 'no prekey bundle is published for this mailbox here');
      const { fetched, remaining } = takeForFetch(held);
      if (remaining.oneTimePreKeys.length !== held.oneTimePreKeys.length || remaining.kyberPreKeys.length !== held.kyberPreKeys.length) {
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
    return held && { mailbox: hex.encode(mailbox), oneTimePreKeys: held.oneTimePreKeys.length, kyberPreKeys: held.kyberPreKeys.length };
  }

  private held(mailbox: Uint8Array): PrekeyBundle | undefined {
    const row = this.stmt.get.get(mailbox) as { bundle: Uint8Array } | undefined;
    return row && PrekeyBundleCodec.decode(new Uint8Array(row.bundle));
  }
}

const OCTET = 'application/octet-stream';
const HEX32 = /^[0-9a-f]{64}$/;

/** Adds the two prekey routes to the relay's Fastify app (before it listens). */
export function registerPrekeyRoutes(app: FastifyInstance, prekeys: RelayPrekeys): void {
  app.post('/v1/prekeys', async (req) => {
    if (!(req.body instanceof Uint8Array)) throw new RelayError('BAD_CONTENT_TYPE', `expected a ${OCTET} body`);
    return prekeys.publish(req.body);
  });
  app.get('/v1/prekeys/:mailbox', async (req, reply) => {
    const m = (req.params as { mailbox: string }).mailbox;
    if (!HEX32.test(m)) throw new RelayError('BAD_REQUEST', `"mailbox" expected 64 lowercase hex characters, got ${JSON.stringify(m)}`);
    const bytes = await prekeys.take(hex.decode(m));
    return reply.type(OCTET).send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });
}
