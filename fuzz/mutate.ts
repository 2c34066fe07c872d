/**
 * Deterministic input generation: every input is a function of (seed, target, index) only,
 * so any finding replays alone (`--replay target:index`) without re-running what came before.
 */

/** sfc32: small, fast and good enough to drive mutations (not for secrets). */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(...seeds: number[]) {
    [this.a, this.b, this.c, this.d] = [seeds[0]! | 0, seeds[1]! | 0, seeds[2]! | 0, seeds[3]! | 0];
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Seeded from a seed, a target name and an input index. */
  static forInput(seed: number, target: string, index: number): Rng {
    const h = fnv1a(target);
    return new Rng(seed, h, index, Math.imul(index ^ 0x9e3779b9, 0x85ebca6b) ^ seed);
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** An integer 0..n-1. */
  below(n: number): number {
    return n <= 1 ? 0 : this.u32() % n;
  }

  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x7f, 0x80, 0x81, 0xfe, 0xff];
/** Lengths and counts around every limit the codecs check (limits.ts, wire.ts). */
const INTERESTING_NUMBERS = [0, 1, 2, 4, 16, 32, 33, 63, 64, 65, 127, 128, 255, 256, 257, 1000, 2048, 2049, 4096, 16384, 65535, 65536, 2 ** 21, 4 * 1024 * 1024, 2 ** 28, 2 ** 31, 2 ** 32 - 1, 2 ** 35];
/** Tags of every object family: protocol 0x01.., relay 0x0b, p2p 0x20.., channels 0x30... */
const TAGS = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36];

function leb128(n: number): number[] {
  const out: number[] = [];
  do {
    const low = n % 128;
    n = Math.floor(n / 128);
    out.push(n > 0 ? low | 0x80 : low);
  } while (n > 0);
  return out;
}

function bigEndian(n: number, width: number): number[] {
  const out: number[] = [];
  for (let i = width - 1; i >= 0; i--) out.push(Math.floor(n / 2 ** (8 * i)) & 0xff);
  return out;
}

/** What a length field at `at` could be turned into: minimal, padded (non-minimal) or fixed-width numbers. */
function lengthEdit(rng: Rng): number[] {
  const n = rng.pick(INTERESTING_NUMBERS) + rng.below(3) - 1;
  const v = Math.max(0, n);
  switch (rng.below(4)) {
    case 0:
      return leb128(v);
    case 1: {
      // The same value with zero groups appended: a non-minimal varint.
      const minimal = leb128(v);
      minimal[minimal.length - 1]! |= 0x80;
      const pad = 1 + rng.below(8);
      for (let i = 0; i < pad - 1; i++) minimal.push(0x80);
      minimal.push(0x00);
      return minimal;
    }
    case 2:
      return bigEndian(v, rng.pick([1, 2, 4]));
    default:
      // A u64 around 2^53, the safe-integer edge.
      return [...bigEndian(Math.floor(v / 2 ** 32) | rng.pick([0, 0x1fffff, 0x200000, 0xffffffff]), 4), ...bigEndian(v >>> 0, 4)];
  }
}

function splice(a: Uint8Array, at: number, remove: number, insert: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(a.length - remove + insert.length);
  out.set(a.subarray(0, at), 0);
  out.set(insert, at);
  out.set(a.subarray(at + remove), at + insert.length);
  return out;
}

/** One mutation of `input`; `others` are the target's other seeds, for splicing. */
export function mutateOnce(rng: Rng, input: Uint8Array, others: readonly Uint8Array[]): Uint8Array {
  const len = input.length;
  const pos = rng.below(len + 1);
  switch (rng.below(12)) {
    case 0: {
      if (len === 0) return Uint8Array.of(rng.u32() & 0xff);
      const out = input.slice();
      out[rng.below(len)]! ^= 1 << rng.below(8);
      return out;
    }
    case 1: {
      if (len === 0) return Uint8Array.of(rng.pick(INTERESTING_BYTES));
      const out = input.slice();
      out[rng.below(len)] = rng.pick(INTERESTING_BYTES);
      return out;
    }
    case 2:
      return input.slice(0, rng.below(len + 1));
    case 3:
      return splice(input, len, 0, rng.bytes(1 + rng.below(rng.chance(0.1) ? 512 : 16)));
    case 4:
      return splice(input, pos, 0, rng.bytes(1 + rng.below(8)));
    case 5:
      return splice(input, pos, Math.min(len - pos, 1 + rng.below(16)), []);
    case 6: {
      const from = rng.below(len + 1);
      const chunk = input.subarray(from, Math.min(len, from + 1 + rng.below(64)));
      return splice(input, pos, 0, chunk);
    }
    case 7: {
      const other = rng.pick(others);
      return Uint8Array.from([...input.subarray(0, pos), ...other.subarray(rng.below(other.length + 1))]);
    }
    case 8:
    case 9: {
      const edit = lengthEdit(rng);
      // Overwrite as many bytes as the old field plausibly had (1..4), or insert.
      return splice(input, pos, Math.min(len - pos, rng.below(5)), edit);
    }
    case 10: {
      const out = input.length >= 2 ? input.slice() : Uint8Array.of(0, 1);
      if (rng.chance(0.7)) out[0] = rng.pick(TAGS);
      else out[1] = rng.pick([0, 1, 2, 0xff]);
      return out;
    }
    default: {
      if (len === 0) return input;
      const out = input.slice();
      const at = rng.below(len);
      out.fill(rng.pick(INTERESTING_BYTES), at, Math.min(len, at + 1 + rng.below(32)));
      return out;
    }
  }
}

/** A mutated seed (1 to about 5 mutations), or with a small chance random bytes. */
export function generate(rng: Rng, seeds: readonly Uint8Array[]): Uint8Array {
  if (seeds.length === 0 || rng.chance(0.08)) {
    const random = rng.bytes(rng.below(rng.chance(0.2) ? 1024 : 80));
    // Half of the random inputs start with a known tag and version 1, to get past the first check.
    if (random.length >= 2 && rng.chance(0.5)) {
      random[0] = rng.pick(TAGS);
      random[1] = 1;
    }
    return random;
  }
  let out = rng.pick(seeds);
  const n = 1 + (rng.chance(0.5) ? 0 : rng.below(5));
  for (let i = 0; i < n; i++) out = mutateOnce(rng, out, seeds);
  return out;
}

/** JSON values that probe a field decoder: wrong types, edge numbers, near-miss hex. */
function oddValue(rng: Rng): unknown {
  switch (rng.below(10)) {
    case 0: return null;
    case 1: return rng.pick([true, false]);
    case 2: return rng.pick([0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, Number.MAX_SAFE_INTEGER]);
    case 3: return Buffer.from(rng.bytes(rng.pick([0, 1, 16, 31, 32, 33, 64]))).toString('hex');
    case 4: return Buffer.from(rng.bytes(32)).toString('hex').toUpperCase();
    case 5: return ` ${Buffer.from(rng.bytes(32)).toString('hex')}`;
    case 6: return [];
    case 7: return {};
    case 8: return '\u0000\ud800é'.repeat(1 + rng.below(4));
    default: {
      // Deep nesting: a parser or walker that recurses must not fall over.
      let v: unknown = 1;
      for (let i = rng.below(600); i > 0; i--) v = [v];
      return v;
    }
  }
}

/** A structural mutation of a JSON seed: a field replaced, removed or added, or the whole value swapped. */
export function mutateJson(rng: Rng, seed: unknown): string {
  const value = structuredClone(seed) as Record<string, unknown> | unknown;
  if (typeof value !== 'object' || value === null || Array.isArray(value) || rng.chance(0.1)) return JSON.stringify(oddValue(rng));
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  const n = 1 + rng.below(3);
  for (let i = 0; i < n; i++) {
    const op = rng.below(4);
    if (op === 0 && keys.length > 0) delete obj[rng.pick(keys)];
    else if (op === 1) obj[rng.pick(['extra', '__proto__', 'constructor', 'ID', 'id ', ''])] = oddValue(rng);
    else if (keys.length > 0) obj[rng.pick(keys)] = oddValue(rng);
  }
  return JSON.stringify(obj);
}
