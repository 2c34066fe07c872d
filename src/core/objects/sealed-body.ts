/**
 * SealedBodyPlain (0x0f): what the sealed body holds, HPKE-sealed to the recipient
 * (src/envelope/envelope.ts): the Signal message (type u8 || serialized) and zero padding
 * that brings the sealed body to exactly a size class. A PreKey message carries the sender's
 * identity key in clear and its ratchet header links a sending chain; sealed and padded, what
 * a relay stores (and anyone holding the blob once k is published) is random-looking bytes of
 * one of a few lengths.
 *
 * Size classes: 16 KiB (every text message fits), then powers of two up to 4 MiB.
 */
import { EncodingError, refine, struct, tagged, varbytes, type Codec } from '../codec.ts';
import { expected } from '../errors.ts';
import { MAX_BODY } from '../limits.ts';

export const SEALED_BODY_TAG = 0x0f;

export const TEXT_SIZE_CLASS = 16 * 1024;
export const MAX_SIZE_CLASS = 4 * 1024 * 1024;

export interface SealedBodyPlain {
  /** The Signal message: type u8 || serialized ciphertext. */
  signal: Uint8Array;
  /** Zero bytes only. */
  padding: Uint8Array;
}

const zeros = refine(varbytes(MAX_BODY, 'padding'), (p) => (p.every((b) => b === 0) ? undefined : 'expected zero bytes only'), 'padding');

export const SealedBodyPlainCodec: Codec<SealedBodyPlain> = tagged(
  SEALED_BODY_TAG,
  struct({ signal: varbytes(MAX_BODY, 'signal'), padding: zeros }, 'SealedBodyPlain'),
);

/** The smallest size class of at least n bytes; undefined above MAX_SIZE_CLASS. */
export function sizeClassFor(n: number): number | undefined {
  for (let c = TEXT_SIZE_CLASS; c <= MAX_SIZE_CLASS; c *= 2) if (n <= c) return c;
  return undefined;
}

export function isSizeClass(n: number): boolean {
  return sizeClassFor(n) === n;
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
 * encode(p) for the padding length p that makes the encoding exactly `target` bytes, where
 * encode(0) has an empty varbytes padding field last. Undefined when no p does: the padding's
 * own length prefix grows at 128 and 16384, so a few targets (one byte past such a step)
 * cannot be hit exactly.
 */
export function encodePaddedTo(target: number, encode: (padLength: number) => Uint8Array): Uint8Array | undefined {
  const bare = encode(0).length - 1; // the empty padding is one varint byte
  for (let prefix = 1; prefix <= 4; prefix++) {
    const pad = target - bare - prefix;
    if (pad >= 0 && varintLength(pad) === prefix) {
      const out = encode(pad);
      if (out.length !== target) throw new Error(`padding arithmetic failed: ${out.length} != ${target}`);
      return out;
    }
  }
  return undefined;
}

/**
 * The SealedBodyPlain encoding for `signal` whose HPKE seal (plaintext + `sealOverhead` bytes)
 * is exactly a size class: the smallest class it fits. TOO_LARGE above MAX_SIZE_CLASS.
 */
export function padSealedBody(signal: Uint8Array, sealOverhead: number): { plain: Uint8Array; sizeClass: number } {
  const encode = (p: number) => SealedBodyPlainCodec.encode({ signal, padding: new Uint8Array(p) });
  const bare = 2 + varintLength(signal.length) + signal.length + 1 + sealOverhead;
  for (let c = sizeClassFor(bare); c !== undefined; c = sizeClassFor(c + 1)) {
    const plain = encodePaddedTo(c - sealOverhead, encode);
    if (plain) return { plain, sizeClass: c };
  }
  throw new EncodingError('TOO_LARGE', expected('sealed body', `at most ${MAX_SIZE_CLASS} bytes`, `${bare} bytes unpadded`));
}
