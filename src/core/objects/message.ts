/**
 * MessagePlain (0x06, version 2): the plaintext inside the Signal ciphertext. Senders leave its
 * padding empty: what hides the length is the sealed body around the Signal message, padded to
 * a size class (./sealed-body.ts). Padding, when present, must be zero bytes.
 *
 * Version 2 added `tags`: the conversation's addressing, told only inside the end-to-end
 * encryption (./tags.ts): the seed the recipient must use to write back to the sender, the
 * sender's index for this message (seq), and how far the sender has found the recipient's
 * messages (ack), so that neither side ever needs a per-user id at a relay.
 */
import { codec, EncodingError, optional, refine, string, struct, tagged, u32, varbytes, type Codec, type Reader, type Writer } from '../codec.ts';
import { expected } from '../errors.ts';
import { MAX_FILE_NAME, MAX_MEDIA_TYPE, MAX_MESSAGE_PLAINTEXT } from '../limits.ts';
import { hash32, millis } from './fields.ts';

export const MESSAGE_TAG = 0x06;
export const MESSAGE_VERSION = 2;

/** The conversation's addressing, as one party tells the other (docs/protocol.md "Tags"). */
export interface ConversationTags {
  /** Write to me under tags of this seed (I chose it, for you alone). */
  replySeed: Uint8Array;
  /** This message's index in my sequence to you (its tag is tag_seq of your seed for me, or an introduction tag). */
  seq: number;
  /** One more than the highest index of yours I have found (0: none yet). */
  ack: number;
}

export const ConversationTagsCodec: Codec<ConversationTags> = struct({ replySeed: hash32('replySeed'), seq: u32('seq'), ack: u32('ack') }, 'tags');

export type MessageContent =
  | { kind: 'text'; text: string }
  | { kind: 'file'; name: string; mediaType: string; data: Uint8Array };

export interface MessagePlain {
  sentAt: number;
  content: MessageContent;
  tags: ConversationTags | undefined;
  /** Zero bytes only. */
  padding: Uint8Array;
}

const text = string(MAX_MESSAGE_PLAINTEXT, 'text');
const file = struct(
  {
    name: string(MAX_FILE_NAME, 'file.name'),
    mediaType: string(MAX_MEDIA_TYPE, 'file.mediaType'),
    data: varbytes(MAX_MESSAGE_PLAINTEXT, 'file.data'),
  },
  'file',
);

const KIND_TEXT = 1;
const KIND_FILE = 2;

/** kind u8 (1 text, 2 file), then the kind's fields. */
export const MessageContentCodec: Codec<MessageContent> = codec(
  'content',
  (w: Writer, v: MessageContent) => {
    if (v?.kind === 'text') {
      w.byte(KIND_TEXT);
      text.write(w, v.text);
    } else if (v?.kind === 'file') {
      w.byte(KIND_FILE);
      file.write(w, v);
    } else throw new EncodingError('BAD_VALUE', expected('content.kind', '"text" or "file"', (v as { kind?: unknown })?.kind));
  },
  (r: Reader) => {
    const kind = r.byte('content.kind');
    if (kind === KIND_TEXT) return { kind: 'text', text: text.read(r) };
    if (kind === KIND_FILE) return { kind: 'file', ...file.read(r) };
    throw new EncodingError('BAD_VALUE', expected('content.kind', '1 (text) or 2 (file)', kind));
  },
);

const padding = refine(varbytes(MAX_MESSAGE_PLAINTEXT, 'padding'), (p) => (p.every((b) => b === 0) ? undefined : 'expected zero bytes only'), 'padding');

export const MessagePlainCodec: Codec<MessagePlain> = tagged(
  MESSAGE_TAG,
  struct({ sentAt: millis('sentAt'), content: MessageContentCodec, tags: optional(ConversationTagsCodec, 'tags'), padding }, 'MessagePlain'),
  'MessagePlain',
  MESSAGE_VERSION,
);

/** The encoding of a message with empty padding: the sealed body around it is what is padded (./sealed-body.ts). */
export function encodeMessage(m: { sentAt: number; content: MessageContent; tags?: ConversationTags | undefined }): Uint8Array {
  return MessagePlainCodec.encode({ sentAt: m.sentAt, content: m.content, tags: m.tags, padding: new Uint8Array(0) });
}

/** Decodes a MessagePlain; zero padding of any length is accepted. */
export function decodeMessage(encoded: Uint8Array): { sentAt: number; content: MessageContent; tags: ConversationTags | undefined } {
  const m = MessagePlainCodec.decode(encoded);
  return { sentAt: m.sentAt, content: m.content, tags: m.tags };
}
