import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EncodingError, bytes, enumU8, list, optional, string, struct, tagged, u16, u32, u64, u8, varbytes, varint, type EncodingErrorCode } from '../../src/core/codec.ts';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));
const code = (c: EncodingErrorCode) => (e: unknown) => EncodingError.is(e, c);

test('integers are big-endian and bounded', () => {
  assert.deepEqual(u8().encode(0xab), hex('ab'));
  assert.deepEqual(u16().encode(0x1234), hex('1234'));
  assert.deepEqual(u32().encode(0xdeadbeef), hex('deadbeef'));
  assert.deepEqual(u64().encode(Number.MAX_SAFE_INTEGER), hex('001fffffffffffff'));
  assert.equal(u64().decode(hex('001fffffffffffff')), Number.MAX_SAFE_INTEGER);
  assert.equal(u64().decode(hex('0000000100000002')), 2 ** 32 + 2);
  assert.throws(() => u64().decode(hex('0020000000000000')), code('BAD_VALUE'));
  assert.throws(() => u64().encode(2 ** 53), code('BAD_VALUE'));
  assert.throws(() => u8().encode(256), code('BAD_VALUE'));
  assert.throws(() => u16().encode(-1), code('BAD_VALUE'));
  assert.throws(() => u32().encode(1.5), code('BAD_VALUE'));
  assert.throws(() => u32().decode(hex('000000')), code('TRUNCATED'));
  assert.throws(() => u16().decode(hex('000000')), code('TRAILING_BYTES'));
});

test('varints are minimal LEB128 and bounded before allocation', () => {
  const v = varint(1_000_000);
  assert.deepEqual(v.encode(0), hex('00'));
  assert.deepEqual(v.encode(127), hex('7f'));
  assert.deepEqual(v.encode(128), hex('8001'));
  assert.deepEqual(v.encode(300), hex('ac02'));
  assert.equal(v.decode(hex('ac02')), 300);
  assert.throws(() => v.decode(hex('8000')), code('NON_CANONICAL'));
  assert.throws(() => v.decode(hex('ff00')), code('NON_CANONICAL'));
  assert.throws(() => v.decode(hex('80')), code('TRUNCATED'));
  assert.throws(() => v.decode(hex('ffffffff0f')), code('TOO_LARGE'));
  assert.throws(() => v.encode(1_000_001), code('TOO_LARGE'));
  // Zero-payload continuation bytes cannot make the reader loop forever or overflow.
  assert.throws(() => v.decode(new Uint8Array(10_000).fill(0x80)), code('TRUNCATED'));
  assert.throws(() => v.decode(Uint8Array.of(...new Uint8Array(200).fill(0x80), 0x01)), code('TOO_LARGE'));
});

test('varbytes refuse a huge length before allocating and a short buffer as TRUNCATED', () => {
  const vb = varbytes(10);
  assert.deepEqual(vb.decode(hex('03010203')), hex('010203'));
  assert.throws(() => vb.decode(hex('0b' + '00'.repeat(11))), code('TOO_LARGE'));
  assert.throws(() => varbytes(2 ** 40).decode(hex('ffffffffff1f')), code('TRUNCATED'));
  assert.throws(() => vb.decode(hex('0401')), code('TRUNCATED'));
  assert.throws(() => vb.encode(new Uint8Array(11)), code('TOO_LARGE'));
  assert.throws(() => bytes(4).encode(new Uint8Array(3)), code('BAD_VALUE'));
});

test('decoded bytes are copies, not views of the input', () => {
  const input = hex('0201020304');
  const out = varbytes(10).decode(input.subarray(0, 3));
  input[1] = 9;
  assert.deepEqual(out, hex('0102'));
});

test('strings are valid UTF-8 both ways and a leading BOM survives', () => {
  const s = string(64);
  assert.equal(s.decode(s.encode('héllo ✓ 𝄞')), 'héllo ✓ 𝄞');
  assert.equal(s.decode(s.encode('\uFEFFbom')), '\uFEFFbom');
  assert.throws(() => s.decode(hex('02c328')), code('BAD_VALUE'));
  assert.throws(() => s.decode(hex('03eda080')), code('BAD_VALUE')); // encoded surrogate
  assert.throws(() => s.encode('a\uD800b'), code('BAD_VALUE'));
  assert.throws(() => string(3).encode('abcd'), code('TOO_LARGE'));
  assert.throws(() => string(3).encode('é€'), code('TOO_LARGE')); // limit counts bytes, not characters
});

test('optional presence byte is 0 or 1 only', () => {
  const o = optional(u8());
  assert.deepEqual(o.encode(undefined), hex('00'));
  assert.deepEqual(o.encode(7), hex('0107'));
  assert.equal(o.decode(hex('00')), undefined);
  assert.equal(o.decode(hex('0107')), 7);
  assert.throws(() => o.decode(hex('0207')), code('NON_CANONICAL'));
  assert.throws(() => o.decode(hex('01')), code('TRUNCATED'));
});

test('lists carry a bounded count', () => {
  const l = list(u16(), 3);
  assert.deepEqual(l.decode(l.encode([1, 2, 3])), [1, 2, 3]);
  assert.throws(() => l.encode([1, 2, 3, 4]), code('TOO_LARGE'));
  assert.throws(() => l.decode(hex('04' + '0001'.repeat(4))), code('TOO_LARGE'));
  assert.throws(() => l.decode(hex('020001')), code('TRUNCATED'));
});

test('tagged structs check tag and version and keep field order', () => {
  const T = tagged(0x42, struct({ a: u8('a'), b: u16('b'), c: enumU8({ x: 1, y: 2 }, 'c') }, 'T'));
  const enc = T.encode({ a: 1, b: 2, c: 'y' });
  assert.deepEqual(enc, hex('42 01 01 0002 02'));
  assert.deepEqual(T.decode(enc), { a: 1, b: 2, c: 'y' });
  assert.throws(() => T.decode(hex('43 01 01 0002 02')), code('BAD_TAG'));
  assert.throws(() => T.decode(hex('42 02 01 0002 02')), code('BAD_VERSION'));
  assert.throws(() => T.decode(hex('42 01 01 0002 03')), code('BAD_VALUE'));
  assert.throws(() => T.decode(hex('42 01 01 0002 02 00')), code('TRAILING_BYTES'));
  assert.throws(() => T.decode(hex('42 01 01 00')), code('TRUNCATED'));
  assert.throws(() => T.decode(new Uint8Array(0)), code('TRUNCATED'));
  assert.throws(() => T.encode({ a: 1, b: 2, c: 'z' as 'x' }), code('BAD_VALUE'));
  assert.throws(() => T.encode(null as never), code('BAD_VALUE'));
});

test('error messages say what was expected and what came', () => {
  assert.throws(() => bytes(32, 'hk').encode(new Uint8Array(31)), { message: '"hk" expected 32 bytes, got 31 bytes' });
});
