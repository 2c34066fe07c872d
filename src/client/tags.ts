/**
 * The user's side of message tags (docs/protocol.md "Tags"; the derivations are in
 * src/core/objects/tags.ts): which tag a message to a contact goes under, which tags to ask the
 * relays for, and what a found or read message teaches. State lives in client.sqlite
 * (conversation_tags), written before a tag leaves in an offer or a query.
 */
import { randomBytes } from 'node:crypto';
import { hex } from '@scure/base';
import {
  NO_SEQ, TAG_RESYNC_AFTER, introEpochOf, introEpochsAround, introSecret, tagOfSecret, tagSecret, windowAfterFound, windowIndices,
  type ConversationTags, type TagWindowState,
} from '../core/objects/index.ts';
import type { Db } from '../store/sqlite.ts';

/** What one wanted tag is: a contact's index, or one of the user's introduction epochs. */
export type TagOwner = { kind: 'contact'; contact: string; index: number } | { kind: 'intro'; epoch: number };

export interface WantedTag {
  tag: Uint8Array;
  secret: Uint8Array;
  owner: TagOwner;
}

/** The tag a message to a contact goes under, and what the message tells him. */
export interface OutgoingTag {
  tag: Uint8Array;
  /** The index taken (release() gives it back if nothing was stored under it). */
  index: number;
  tells: ConversationTags;
}

interface Row {
  contact: string;
  in_seed: Buffer;
  in_high: number;
  in_gaps: string;
  out_seed: Buffer | null;
  out_next: number;
  out_acked: number;
}

export class TagBook {
  private readonly stmt;

  constructor(
    private readonly db: Db,
    private readonly identityKey: Uint8Array,
    private readonly now: () => number,
    private readonly random: (n: number) => Uint8Array = (n) => new Uint8Array(randomBytes(n)),
  ) {
    this.stmt = {
      get: db.prepare('SELECT * FROM conversation_tags WHERE contact = ?'),
      all: db.prepare('SELECT * FROM conversation_tags ORDER BY contact'),
      insert: db.prepare('INSERT INTO conversation_tags (contact, in_seed, updated_at) VALUES (?, ?, ?) ON CONFLICT (contact) DO NOTHING'),
      setOut: db.prepare('UPDATE conversation_tags SET out_next = ?, updated_at = ? WHERE contact = ?'),
      release: db.prepare('UPDATE conversation_tags SET out_next = ?, updated_at = ? WHERE contact = ? AND out_next = ?'),
      setWindow: db.prepare('UPDATE conversation_tags SET in_high = ?, in_gaps = ?, updated_at = ? WHERE contact = ?'),
      learn: db.prepare('UPDATE conversation_tags SET out_seed = ?, out_next = ?, out_acked = ?, updated_at = ? WHERE contact = ?'),
    };
  }

  /** The contact's row, made (with a fresh seed for his messages) on first need. */
  private row(contact: string): Row {
    this.stmt.insert.run(contact, this.random(32), this.now());
    return this.stmt.get.get(contact) as Row;
  }

  /**
   * Takes the next index for a message to `contact` (saved before it returns: an index is never
   * used twice, a send that fails leaves a gap the contact's window steps over) and the tag it
   * goes under: tag_i of his seed, or his introduction tag of the day while he has not told a
   * seed yet or has not acknowledged the last TAG_RESYNC_AFTER indices (lost messages, or he
   * never writes back): those he finds however far ahead they are.
   */
  outgoing(contact: string, contactIdentityKey: Uint8Array): OutgoingTag {
    return this.db.transaction((): OutgoingTag => {
      const r = this.row(contact);
      const index = r.out_next;
      this.stmt.setOut.run(index + 1, this.now(), contact);
      // Without his seed the index means nothing to him: NO_SEQ.
      const tells: ConversationTags = { replySeed: new Uint8Array(r.in_seed), seq: r.out_seed === null ? NO_SEQ : index, ack: r.in_high + 1 };
      if (r.out_seed !== null && index - r.out_acked < TAG_RESYNC_AFTER) return { tag: tagOfSecret(tagSecret(new Uint8Array(r.out_seed), index)), index, tells };
      return { tag: tagOfSecret(introSecret(contactIdentityKey, introEpochOf(this.now()))), index, tells };
    })();
  }

  /**
   * Gives back an index whose message no relay stored (the send failed before its deposit), if
   * no later one was taken: failed sends then leave no gap the contact's window would have to
   * step over. The tag was in an offer, so the network sees it offered again by the next message.
   */
  release(contact: string, index: number): void {
    this.stmt.release.run(index, this.now(), contact, index + 1);
  }

  /** Every tag to ask for now: each contact's window, then the user's introduction tags. */
  wanted(): WantedTag[] {
    const out: WantedTag[] = [];
    for (const r of this.stmt.all.all() as Row[]) {
      const seed = new Uint8Array(r.in_seed);
      for (const index of windowIndices(windowOf(r))) {
        const secret = tagSecret(seed, index);
        out.push({ tag: tagOfSecret(secret), secret, owner: { kind: 'contact', contact: r.contact, index } });
      }
    }
    for (const epoch of introEpochsAround(this.now())) {
      const secret = introSecret(this.identityKey, epoch);
      out.push({ tag: tagOfSecret(secret), secret, owner: { kind: 'intro', epoch } });
    }
    return out;
  }

  /** A message under a contact's tag was found: his window moves past it. */
  found(owner: TagOwner): void {
    if (owner.kind !== 'contact') return;
    this.db.transaction(() => {
      const r = this.stmt.get.get(owner.contact) as Row | undefined;
      if (r === undefined) return;
      const w = windowAfterFound(windowOf(r), owner.index);
      this.stmt.setWindow.run(w.high, JSON.stringify(w.gaps), this.now(), owner.contact);
    })();
  }

  /**
   * What a message read from `contact` told: the seed to write to him under (indices are per
   * seed: the first seed, or a new one, starts at 0), how far he has found this user's messages, and its own index (a message that
   * came by the introduction tag moves his window the same as one found under his seed).
   */
  learn(contact: string, told: ConversationTags): void {
    this.db.transaction(() => {
      const r = this.row(contact);
      const sameSeed = r.out_seed !== null && Buffer.from(told.replySeed).equals(r.out_seed);
      const outNext = sameSeed ? r.out_next : 0;
      const acked = sameSeed ? Math.min(Math.max(r.out_acked, told.ack), outNext) : 0;
      this.stmt.learn.run(told.replySeed, outNext, acked, this.now(), contact);
      const w = windowAfterFound(windowOf(r), told.seq);
      this.stmt.setWindow.run(w.high, JSON.stringify(w.gaps), this.now(), contact);
    })();
  }

  /** The wanted tags by hex, for matching listings and stream events. */
  static byHex(wanted: WantedTag[]): Map<string, WantedTag> {
    return new Map(wanted.map((w) => [hex.encode(w.tag), w]));
  }
}

function windowOf(r: Row): TagWindowState {
  let gaps: number[] = [];
  try {
    const parsed: unknown = JSON.parse(r.in_gaps);
    if (Array.isArray(parsed)) gaps = parsed.filter((g): g is number => Number.isSafeInteger(g) && g >= 0 && g < r.in_high);
  } catch {
    // A damaged gap list only costs asking again.
  }
  return { high: r.in_high, gaps };
}
