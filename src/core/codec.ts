/**
 * Canonical binary encoding. One `Codec<T>` both writes and reads a value (scure's
 * `OutScript` style), and codecs compose: `struct`, `optional`, `list`, `tagged`.
 *
 * Rules every codec keeps (docs/protocol.md, "Encoding"):
 * - integers big-endian; u64 carried as a JS number and must be a safe integer;
 * - lengths and counts are minimal unsigned LEB128 varints, checked against the field's
 *   maximum BEFORE anything is allocated;
 * - exactly one encoding per value: non-minimal varints, optional presence bytes other
 *   than 0/1 and trailing bytes are refused, so decode(x) succeeds only if
 *   encode(decode(x)) == x;
 * - decoding throws `EncodingError` (never another error, never a partial object).
 * Encoding validates too, so an invalid value never reaches the wire.
 */
import { SatpostError, expected } from './errors.ts';

export type EncodingErrorCode =
  | 'TRUNCATED'
  | 'TRAILING_BYTES'
  | 'TOO_LARGE'
  | 'BAD_TAG'
  | 'BAD_VERSION'
  | 'NON_CANONICAL'
  | 'BAD_VALUE';
export class EncodingError extends SatpostError<EncodingErrorCode> {}

/** Growable output buffer. */
export class Writer {
  private buf: Uint8Array;
  private len = 0;

  /** `capacity`: the bytes expected (the buffer grows past it when needed). */
  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  finish(): Uint8Array {
    // Filled exactly (a capacity given right): the buffer itself, no copy.
    return this.len === this.buf.length ? this.buf : this.buf.slice(0, this.len);
  }
}

/** Cursor over input bytes; every read is bounds-checked. */
export class Reader {
  pos = 0;
  constructor(readonly data: Uint8Array) {}

  get remaining(): number {
    return this.data.length - this.pos;
  }

  byte(what: string): number {
    if (this.pos >= this.data.length) throw truncated(what, 1, 0);
    return this.data[this.pos++]!;
  }

  /** A copy, so decoded objects never alias (and never pin) the input buffer. */
  bytes(n: number, what: string): Uint8Array {
    if (n > this.remaining) throw truncated(what, n, this.remaining);
    const out = this.data.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

function truncated(what: string, need: number, have: number): EncodingError {
  return new EncodingError('TRUNCATED', expected(what, `${need} more bytes`, `${have}`));
}

export interface Codec<T> {
  /** Short description used in error messages. */
  readonly name: string;
  write(w: Writer, value: T): void;
  read(r: Reader): T;
  /** Whole-buffer encoding. */
  encode(value: T): Uint8Array;
  /** Whole-buffer decoding: trailing bytes are an error. */
  decode(bytes: Uint8Array): T;
}

export type Infer<C> = C extends Codec<infer T> ? T : never;

export function codec<T>(name: string, write: (w: Writer, v: T) => void, read: (r: Reader) => T): Codec<T> {
  return {
    name,
    write,
    read,
    encode(value: T): Uint8Array {
      const w = new Writer();
      write(w, value);
      return w.finish();
    },
    decode(bytes: Uint8Array): T {
      const r = new Reader(bytes);
      let v: T;
      try {
        v = read(r);
      } catch (e) {
        if (e instanceof EncodingError) throw e;
        // Anything else is a bug in a codec; still surface it as an EncodingError so callers
        // that decode untrusted bytes only ever see one error type.
        throw new EncodingError('BAD_VALUE', `${name}: ${(e as Error).message}`, { cause: e });
      }
      if (r.remaining !== 0) {
        throw new EncodingError('TRAILING_BYTES', expected(name, 'no bytes after the value', `${r.remaining} bytes`));
      }
      return v;
    },
  };
}

function badValue(what: string, expectation: string, got: unknown): EncodingError {
  return new EncodingError('BAD_VALUE', expected(what, expectation, got));
}

function uint(bytes: 1 | 2 | 4, what: string): Codec<number> {
  const max = 2 ** (8 * bytes) - 1;
  return codec(
    what,
    (w, v) => {
      if (!Number.isInteger(v) || v < 0 || v > max) throw badValue(what, `an integer 0..${max}`, v);
      for (let i = bytes - 1; i >= 0; i--) w.byte(Math.floor(v / 2 ** (8 * i)) & 0xff);
    },
    (r) => {
      let v = 0;
      for (let i = 0; i < bytes; i++) v = v * 256 + r.byte(what);
      return v;
    },
  );
}

export const u8 = (what = 'u8'): Codec<number> => uint(1, what);
export const u16 = (what = 'u16'): Codec<number> => uint(2, what);
export const u32 = (what = 'u32'): Codec<number> => uint(4, what);

/** u64 on the wire, a safe-integer JS number in memory (values above 2^53-1 are refused). */
export function u64(what = 'u64'): Codec<number> {
  return codec(
    what,
    (w, v) => {
      if (!Number.isSafeInteger(v) || v < 0) throw badValue(what, `an integer 0..${Number.MAX_SAFE_INTEGER}`, v);
      const hi = Math.floor(v / 2 ** 32);
      const lo = v >>> 0;
      for (const word of [hi, lo]) for (let i = 3; i >= 0; i--) w.byte((word >>> (8 * i)) & 0xff);
    },
    (r) => {
      let hi = 0;
      let lo = 0;
      for (let i = 0; i < 4; i++) hi = hi * 256 + r.byte(what);
      for (let i = 0; i < 4; i++) lo = lo * 256 + r.byte(what);
      if (hi > 0x1fffff) throw badValue(what, `at most ${Number.MAX_SAFE_INTEGER}`, 'a larger u64');
      return hi * 2 ** 32 + lo;
    },
  );
}

/**
 * Minimal unsigned LEB128 for lengths and counts, at most `max`. The bound is checked
 * while reading, so a hostile length can neither allocate nor loop.
 */
export function varint(max: number, what = 'varint'): Codec<number> {
  return codec(
    what,
    (w, v) => {
      if (!Number.isSafeInteger(v) || v < 0) throw badValue(what, 'a non-negative safe integer', v);
      if (v > max) throw new EncodingError('TOO_LARGE', expected(what, `at most ${max}`, v));
      do {
        const low = v % 128;
        v = Math.floor(v / 128);
        w.byte(v > 0 ? low | 0x80 : low);
      } while (v > 0);
    },
    (r) => {
      let v = 0;
      let scale = 1;
      for (let i = 0; ; i++) {
        const b = r.byte(what);
        // Skipping zero groups keeps v finite however many padding bytes come.
        if ((b & 0x7f) !== 0) v += (b & 0x7f) * scale;
        if (v > max) throw new EncodingError('TOO_LARGE', expected(what, `at most ${max}`, `more`));
        if ((b & 0x80) === 0) {
          if (b === 0 && i > 0) throw new EncodingError('NON_CANONICAL', expected(what, 'a minimal varint', 'a trailing zero group'));
          return v;
        }
        scale *= 128;
      }
    },
  );
}

/** Exactly n bytes. */
export function bytes(n: number, what = `bytes${n}`): Codec<Uint8Array> {
  return codec(
    what,
    (w, v) => {
      if (!(v instanceof Uint8Array) || v.length !== n) throw badValue(what, `${n} bytes`, v);
      w.bytes(v);
    },
    (r) => r.bytes(n, what),
  );
}

/** Length-prefixed bytes, at most `max` long. */
export function varbytes(max: number, what = 'varbytes'): Codec<Uint8Array> {
  const len = varint(max, `${what}.length`);
  return codec(
    what,
    (w, v) => {
      if (!(v instanceof Uint8Array)) throw badValue(what, 'bytes', typeof v);
      len.write(w, v.length);
      w.bytes(v);
    },
    (r) => r.bytes(len.read(r), what),
  );
}

const LONE_SURROGATE = /\p{Cs}/u;
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** UTF-8 text, at most `maxBytes` bytes encoded; invalid UTF-8 is refused both ways. */
export function string(maxBytes: number, what = 'string'): Codec<string> {
  const raw = varbytes(maxBytes, what);
  return codec(
    what,
    (w, v) => {
      if (typeof v !== 'string') throw badValue(what, 'a string', typeof v);
      if (LONE_SURROGATE.test(v)) throw badValue(what, 'well-formed Unicode', 'a lone surrogate');
      raw.write(w, utf8Encoder.encode(v));
    },
    (r) => {
      const b = raw.read(r);
      try {
        return utf8Decoder.decode(b);
      } catch {
        throw badValue(what, 'valid UTF-8', b);
      }
    },
  );
}

/** Presence byte 0 or 1, then the value. `undefined` is absent. */
export function optional<T>(inner: Codec<T>, what = `optional ${inner.name}`): Codec<T | undefined> {
  return codec(
    what,
    (w, v) => {
      if (v === undefined) w.byte(0);
      else {
        w.byte(1);
        inner.write(w, v);
      }
    },
    (r) => {
      const p = r.byte(what);
      if (p === 0) return undefined;
      if (p !== 1) throw new EncodingError('NON_CANONICAL', expected(`${what} presence`, '0 or 1', p));
      return inner.read(r);
    },
  );
}

/** Count as a varint (at most `max`), then the items. */
export function list<T>(inner: Codec<T>, max: number, what = `list of ${inner.name}`): Codec<T[]> {
  const count = varint(max, `${what}.count`);
  return codec(
    what,
    (w, v) => {
      if (!Array.isArray(v)) throw badValue(what, 'an array', typeof v);
      count.write(w, v.length);
      for (const item of v) inner.write(w, item);
    },
    (r) => {
      const n = count.read(r);
      const out: T[] = [];
      for (let i = 0; i < n; i++) out.push(inner.read(r));
      return out;
    },
  );
}

type Shape = Record<string, Codec<any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
export type StructOf<S extends Shape> = { [K in keyof S]: Infer<S[K]> };

/** Fields in the order of the shape's keys; extra properties of the value are ignored. */
export function struct<S extends Shape>(shape: S, what = 'struct'): Codec<StructOf<S>> {
  const fields = Object.entries(shape);
  return codec(
    what,
    (w, v) => {
      if (typeof v !== 'object' || v === null) throw badValue(what, 'an object', v);
      for (const [k, c] of fields) c.write(w, (v as Record<string, unknown>)[k]);
    },
    (r) => {
      const out: Record<string, unknown> = {};
      for (const [k, c] of fields) out[k] = c.read(r);
      return out as StructOf<S>;
    },
  );
}

/** A semantic check on top of a codec, applied both when encoding and when decoding. */
export function refine<T>(inner: Codec<T>, check: (v: T) => string | undefined, what = inner.name): Codec<T> {
  const verify = (v: T): void => {
    const problem = check(v);
    if (problem !== undefined) throw new EncodingError('BAD_VALUE', `${what}: ${problem}`);
  };
  return codec(
    what,
    (w, v) => {
      verify(v);
      inner.write(w, v);
    },
    (r) => {
      const v = inner.read(r);
      verify(v);
      return v;
    },
  );
}

/** A one-byte enumeration: the wire carries `code`, memory carries the name. */
export function enumU8<N extends string>(map: Record<N, number>, what = 'enum'): Codec<N> {
  const byCode = new Map<number, N>();
  for (const [name, code] of Object.entries(map) as [N, number][]) byCode.set(code, name);
  return codec(
    what,
    (w, v) => {
      if (!Object.hasOwn(map, v)) throw badValue(what, `one of ${Object.keys(map).join(', ')}`, v);
      w.byte(map[v]);
    },
    (r) => {
      const b = r.byte(what);
      const name = byCode.get(b);
      if (name === undefined) throw badValue(what, `one of codes ${[...byCode.keys()].join(', ')}`, b);
      return name;
    },
  );
}

export const OBJECT_VERSION = 1;

/**
 * A top-level protocol object: type tag u8 | version u8 | body. The version is 1 unless the
 * object's layout or meaning changed since (docs/protocol.md "Encoding"); any other is BAD_VERSION.
 */
export function tagged<T>(tag: number, body: Codec<T>, what = body.name, version = OBJECT_VERSION): Codec<T> {
  return codec(
    what,
    (w, v) => {
      w.byte(tag);
      w.byte(version);
      body.write(w, v);
    },
    (r) => {
      const t = r.byte(`${what} tag`);
      if (t !== tag) throw new EncodingError('BAD_TAG', expected(`${what} tag`, `0x${hex2(tag)}`, `0x${hex2(t)}`));
      const got = r.byte(`${what} version`);
      if (got !== version) throw new EncodingError('BAD_VERSION', expected(`${what} version`, `${version}`, got));
      return body.read(r);
    },
  );
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
