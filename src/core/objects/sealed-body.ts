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

/** True iff every byte is 0 (a plain loop: \`every\` with a callback costs ~10 µs per KiB). */
function allZero(p: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < p.length; i++) acc |= p[i]!;
  return acc === 0;
}

const zeros = refine(varbytes(MAX_BODY, 'padding'), (p) => (allZero(p) ? undefined : 'expected zero bytes only'), 'padding');

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
  // The encoding with an empty padding, once; a padded one is that with the padding's length
  // prefix and zeros in place of its last byte (the empty padding's prefix 0x00): the same
  // bytes as SealedBodyPlainCodec.encode, without writing and checking the zeros twice.
  const bare0 = SealedBodyPlainCodec.encode({ signal, padding: new Uint8Array(0) });
  const encode = (p: number) => {
    if (p === 0) return bare0;
    const prefix = varintLength(p);
    const out = new Uint8Array(bare0.length - 1 + prefix + p);
    out.set(bare0.subarray(0, bare0.length - 1));
    let at = bare0.length - 1;
    for (let v = p; ; ) {
      const low = v % 128;
      v = Math.floor(v / 128);
      out[at++] = v > 0 ? low | 0x80 : low;
      if (v === 0) break;
    }
    return out;
  };
  const bare = 2 + varintLength(signal.length) + signal.length + 1 + sealOverhead;
  for (let c = sizeClassFor(bare); c !== undefined; c = sizeClassFor(c + 1)) {
    const plain = encodePaddedTo(c - sealOverhead, encode);
    if (plain) return { plain, sizeClass: c };
  }
  throw new EncodingError('TOO_LARGE', expected('sealed body', `at most ${MAX_SIZE_CLASS} bytes`, `${bare} bytes unpadded`));
}
