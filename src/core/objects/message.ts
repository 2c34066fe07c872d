/**
 * MessagePlain (0x06): the plaintext inside the Signal ciphertext. It is padded with
 * zero bytes so its whole encoding is a bucket size (256 B, 1 KiB, 4 KiB, 16 KiB,
 * 64 KiB, then multiples of 64 KiB up to MAX_MESSAGE_PLAINTEXT): relays and observers
 * learn the bucket, not the length.
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

const SMALL_BUCKETS = [256, 1024, 4096, 16384, 65536];
const LARGE_STEP = 65536;

/** The smallest bucket size >= n (may exceed MAX_MESSAGE_PLAINTEXT; callers check). */
export function bucketFor(n: number): number {
  for (const b of SMALL_BUCKETS) if (n <= b) return b;
  return Math.ceil(n / LARGE_STEP) * LARGE_STEP;
}

export function isBucketSize(n: number): boolean {
  return bucketFor(n) === n;
}

function varintLength(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/**
 * Encodes the message padded to the smallest bucket it fits. The padding's own length
 * prefix grows with it, so a few sizes (e.g. 129 bytes short of a bucket) cannot be hit
 * exactly; those messages take the next bucket.
 */
export function padMessage(m: { sentAt: number; content: MessageContent }): Uint8Array {
  const unpadded = MessagePlainCodec.encode({ sentAt: m.sentAt, content: m.content, padding: new Uint8Array(0) });
  const withoutPadding = unpadded.length - 1; // the empty padding is one varint byte
  for (let bucket = bucketFor(unpadded.length); bucket <= MAX_MESSAGE_PLAINTEXT; bucket = bucketFor(bucket + 1)) {
    for (let prefix = 1; prefix <= 4; prefix++) {
      const pad = bucket - withoutPadding - prefix;
      if (pad >= 0 && varintLength(pad) === prefix) {
        const out = MessagePlainCodec.encode({ sentAt: m.sentAt, content: m.content, padding: new Uint8Array(pad) });
        if (out.length !== bucket) throw new Error(`padding arithmetic failed: ${out.length} != ${bucket}`);
        return out;
      }
    }
  }
  throw new EncodingError('TOO_LARGE', expected('message', `at most ${MAX_MESSAGE_PLAINTEXT} bytes padded`, `${unpadded.length} bytes unpadded`));
}

/** Decodes a padded message, refusing one whose length is not a bucket size. */
export function unpadMessage(encoded: Uint8Array): { sentAt: number; content: MessageContent } {
  if (!isBucketSize(encoded.length) || encoded.length > MAX_MESSAGE_PLAINTEXT) {
    throw new EncodingError('BAD_VALUE', expected('padded message length', 'a bucket size', encoded.length));
  }
  const m = MessagePlainCodec.decode(encoded);
  return { sentAt: m.sentAt, content: m.content };
}
