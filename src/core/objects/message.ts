/**
 * MessagePlain (0x06): the plaintext inside the Signal ciphertext. Senders leave its padding
 * empty: what hides the length is the sealed body around the Signal message, padded to a size
 * class (./sealed-body.ts). Padding, when present, must be zero bytes.
 */
import { codec, EncodingError, refine, string, struct, tagged, varbytes, type Codec, type Reader, type Writer } from '../codec.ts';
import { expected } from '../errors.ts';
import { MAX_FILE_NAME, MAX_MEDIA_TYPE, MAX_MESSAGE_PLAINTEXT } from '../limits.ts';
import { millis } from './fields.ts';

export const MESSAGE_TAG = 0x06;

export type MessageContent =
  | { kind: 'text'; text: string }
  | { kind: 'file'; name: string; mediaType: string; data: Uint8Array };

export interface MessagePlain {
  sentAt: number;
  content: MessageContent;
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
  struct({ sentAt: millis('sentAt'), content: MessageContentCodec, padding }, 'MessagePlain'),
);

/** The encoding of a message with empty padding: the sealed body around it is what is padded (./sealed-body.ts). */
export function encodeMessage(m: { sentAt: number; content: MessageContent }): Uint8Array {
  return MessagePlainCodec.encode({ sentAt: m.sentAt, content: m.content, padding: new Uint8Array(0) });
}

/** Decodes a MessagePlain; zero padding of any length is accepted (version 1 senders padded to buckets). */
export function decodeMessage(encoded: Uint8Array): { sentAt: number; content: MessageContent } {
  const m = MessagePlainCodec.decode(encoded);
  return { sentAt: m.sentAt, content: m.content };
}
