/**
 * What privacy costs (issue 14): per-message tags instead of a per-user mailbox.
 *
 * - The query a recipient makes with 100 contacts: how many tags, the TagQuery's bytes, the time
 *   to derive them, and one listing of all of them at a real relay that holds 1,000 messages
 *   under other tags (the relay does one indexed lookup per tag).
 * - Bytes per message on the wire: the offer every relay receives and the deposit the storing
 *   relay receives, for a one-line text (the sealed body is a 16 KiB class whatever the text).
 * - Send-to-readable and deposits/s are measured by the send-to-read and relay benches of the
 *   same run; bench/results in git holds the figures from before the change.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { PrivateKey } from '@signalapp/libsignal-client';
import { CLIENT_MIGRATIONS } from '../src/client/store.ts';
import { TagBook } from '../src/client/tags.ts';
import { DepositCodec, OfferCodec, TEXT_SIZE_CLASS, TagQueryCodec, coarseQueryTime, type Offer } from '../src/core/objects/index.ts';
import { RelayClient } from '../src/client/relay-client.ts';
import { openDb } from '../src/store/sqlite.ts';
import { median, type Benchmark } from './harness.ts';
import { startRelayWorld } from './setup.ts';
import { tempDir } from '../test/client/helpers.ts';

const CONTACTS = 100;
const STORED = 1000;
const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

export const bench: Benchmark = {
  name: 'privacy',
  description: 'what per-message tags cost: the query of a recipient with 100 contacts, bytes per message',
  async run(report, log) {
    const tmp = tempDir('satpost-bench-privacy-');
    const world = await startRelayWorld('satpost-bench-privacy-relay-', { depositorUnpaidMaxMessages: 10 * STORED, depositorUnpaidMaxBytes: 1 << 30 });
    try {
      // A recipient's tag state with 100 contacts, each of whom has her seed (one outgoing message each made the rows).
      const db = openDb({ path: join(tmp.dir, 'client.sqlite'), migrations: CLIENT_MIGRATIONS });
      const me = PrivateKey.generate().getPublicKey().serialize();
      const book = new TagBook(db, me, Date.now);
      for (let i = 0; i < CONTACTS; i++) book.outgoing(`contact${i}`, PrivateKey.generate().getPublicKey().serialize());
      const deriveMs: number[] = [];
      let wanted = book.wanted();
      for (let i = 0; i < 20; i++) {
        const t0 = performance.now();
        wanted = book.wanted();
        deriveMs.push(performance.now() - t0);
      }
      const query = TagQueryCodec.encode({
        queryId: rnd(16), answerKey: PrivateKey.generate().getPublicKey().serialize(), tags: wanted.map((w) => w.tag),
        timestamp: coarseQueryTime(Date.now()), hopLimit: 8, hopsLeft: 8,
      });
      report({ metric: `tags asked for, ${CONTACTS} contacts`, value: wanted.length, unit: 'tags', note: '8 per contact + 9 introduction tags, no gaps' });
      report({ metric: `TagQuery bytes, ${CONTACTS} contacts`, value: query.length, unit: 'bytes' });
      report({ metric: `deriving the ${wanted.length} tags, p50`, value: median(deriveMs), unit: 'ms', note: 'two SHA-256 per tag, from client.sqlite' });

      // A relay holding 1,000 messages under other tags; one listing of all the recipient's tags.
      const rc = new RelayClient(world.relay.url);
      for (let i = 0; i < STORED; i += 50) {
        await Promise.all(Array.from({ length: 50 }, async () => {
          const offer: Offer = { offerId: rnd(16), tag: rnd(32), mode: 'recipient-pays', size: TEXT_SIZE_CLASS, maxFee: 100_000, retentionSecs: 3600, createdAt: Date.now() };
          const q = await rc.quote(offer);
          await rc.deposit({ quoteId: q.quoteId, tag: q.tag, sealedHeader: rnd(300), body: rnd(TEXT_SIZE_CLASS), hr: undefined, funding: undefined });
        }));
      }
      const listMs: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t0 = performance.now();
        for await (const page of rc.listAll(wanted.map((w) => w.tag))) if (page.length !== 0) throw new Error('nothing is stored under these tags');
        listMs.push(performance.now() - t0);
      }
      report({ metric: `listing ${wanted.length} tags at a relay holding ${STORED}, p50`, value: median(listMs), unit: 'ms', note: 'POST /v1/tags/list, HTTP on loopback' });

      // Bytes per message: what every relay receives (the offer) and what the storing relay receives (the deposit).
      const alice = await world.client('alice');
      const carol = await world.client('carol');
      await carol.publish();
      await alice.addContact('carol', carol.address());
      const sent = await alice.send('carol', { text: 'one line of text' }, { mode: 'recipient-pays', maxFee: 5_000, retentionDays: 0.1 });
      const row = world.relay.store.message(Buffer.from(sent.id, 'hex'))!;
      const offerBytes = OfferCodec.encode({ offerId: rnd(16), tag: rnd(32), mode: 'recipient-pays', size: TEXT_SIZE_CLASS, maxFee: 5_000, retentionSecs: 8640, createdAt: coarseQueryTime(Date.now()) }).length;
      const depositBytes = DepositCodec.encode({ quoteId: rnd(16), tag: row.mailbox, sealedHeader: row.sealedHeader, body: new Uint8Array(row.blob.length - 16), hr: undefined, funding: undefined }).length;
      report({ metric: 'offer bytes (gossiped to every relay)', value: offerBytes, unit: 'bytes' });
      report({ metric: 'deposit bytes, one line of text', value: depositBytes, unit: 'bytes', note: 'a 16 KiB sealed body: the text class' });
      log(`${wanted.length} tags, query ${query.length} B, list p50 ${median(listMs).toFixed(1)} ms`);
      db.close();
    } finally {
      await world.close();
      tmp.cleanup();
    }
  },
};
