/**
 * One live watch of the user's tags (Client.watch): subscriptions at every relay, a listing
 * so that nothing stored before them is missed, each new entry fetched and checked as inbox()
 * does, and the channels synced meanwhile. It ends when a relay drops a subscription;
 * following (./follow.ts) watches again.
 */
import { EventEmitter, on } from 'node:events';
import type { WatchOptions } from './follow.ts';
import type { MailContext } from './mail-context.ts';
import { entryView, fetchOne, refreshInbox, withoutFraudulent, type InboxEntry } from './receive.ts';
import { TagBook } from './tags.ts';

/** What a watch needs of its client. */
export interface WatchingClient {
  syncChannels(): Promise<{ id: string; error?: unknown }[]>;
  /** The relay URL of a channel. */
  channelRelay(channelId: string): string;
  closed(): boolean;
}

export async function* watchInbox(ctx: MailContext, o: WatchOptions, client: WatchingClient): AsyncGenerator<InboxEntry> {
  // Settles of the user's channels (messages she paid for being read) are taken while watching.
  let syncing = false;
  const syncNow = () => {
    if (syncing || client.closed()) return;
    syncing = true;
    client.syncChannels().then(
      (rs) => { for (const r of rs) if (r.error !== undefined) o.onProblem?.(client.channelRelay(r.id), r.error); },
      (err: unknown) => o.onProblem?.('', err),
    ).finally(() => (syncing = false));
  };
  const channelTimer = setInterval(syncNow, o.channelSyncMs ?? 5_000);
  channelTimer.unref();
  syncNow();
  const ac = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, ac.signal]) : ac.signal;
  const events = new EventEmitter<{ entry: [InboxEntry] }>();
  // Created before anything can emit: on() buffers what arrives before the loop asks.
  const stream = on(events, 'entry', { signal }) as AsyncIterableIterator<[InboxEntry]>;
  const known = new Set(ctx.mail.inboxAll().map((r) => r.id));
  const announce = (id: string) => {
    if (known.has(id)) return;
    const row = ctx.mail.inbox(id);
    if (!row) return;
    known.add(id);
    events.emit('entry', entryView(ctx, row));
  };
  // Two subscriptions per relay: introduction tags never share a request with conversation
  // tags (anyone holding the address computes the former: together they would name the latter).
  const subs: { intro: boolean; sub: { close(): void; add(tags: Uint8Array[]): void } }[] = [];
  // The tags followed: a find moves a window, and the tags it opens are added to the conversation subscriptions.
  const following = TagBook.byHex(ctx.tags.wanted());
  const followMore = () => {
    const more = ctx.tags.wanted().filter((w) => !following.has(Buffer.from(w.tag).toString('hex')));
    for (const w of more) following.set(Buffer.from(w.tag).toString('hex'), w);
    for (const intro of [true, false]) {
      const tags = more.filter((w) => (w.owner.kind === 'intro') === intro).map((w) => w.tag);
      if (tags.length > 0) for (const s of subs) if (s.intro === intro) s.sub.add(tags);
    }
  };
  try {
    for (const url of withoutFraudulent(ctx, ctx.relays.map((u) => u.replace(/\/+$/, '')))) {
      const relay = ctx.relay(url);
      const onMessage = (id: Uint8Array, tag: Uint8Array) => {
        const hexId = Buffer.from(id).toString('hex');
        if (ctx.mail.inbox(hexId)) return announce(hexId);
        const wanted = following.get(Buffer.from(tag).toString('hex'));
        if (wanted === undefined) return;
        fetchOne(ctx, url, id, { id: hexId, tag: Buffer.from(tag).toString('hex') }, wanted, signal).then(
          () => {
            followMore();
            announce(hexId);
          },
          (err: unknown) => o.onProblem?.(url, err),
        );
      };
      for (const intro of [true, false]) {
        const tags = [...following.values()].filter((w) => (w.owner.kind === 'intro') === intro).map((w) => w.tag);
        if (tags.length > 0) // A dropped subscription ends the watch (the caller watches again: nothing is missed, the list runs first).
        subs.push({ intro, sub: await relay.subscribe(tags, onMessage, { signal, onClose: () => ac.abort() }) });
      }
    }
    const { entries, problems } = await refreshInbox(ctx, { signal });
    followMore();
    for (const p of problems) o.onProblem?.(p.relay, p.error);
    for (const e of entries) announce(e.id);
    for await (const [entry] of stream) yield entry;
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    clearInterval(channelTimer);
    ac.abort();
    for (const s of subs) s.sub.close();
  }
}
