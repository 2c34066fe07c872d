/**
 * Blocks: the 80-byte header, merkle roots over txids and wtxids, the BIP141 witness
 * commitment, proof of work at regtest difficulty, and the coinbase (BIP34 height).
 * Pure: no I/O, time comes in as a parameter.
 */
import { CompactSize } from '@scure/btc-signer';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, hexToBytes } from '@noble/hashes/utils.js';
import { ChainError } from '../backend.ts';
import { buildTx, NULL_TXID, parseTx, sha256d, toDisplayHex, fromDisplayHex } from './tx.ts';
import type { ParsedTx, TxOut } from './tx.ts';

export const REGTEST_BITS = 0x207fffff;
export const REGTEST_GENESIS_HASH = '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206';
/** BIP141: prefix of the coinbase output that commits to the wtxid merkle root. */
export const WITNESS_COMMITMENT_HEADER = hexToBytes('6a24aa21a9ed');
const WITNESS_RESERVED_VALUE = new Uint8Array(32);

export interface Header {
  version: number;
  prev: string;
  merkleRoot: string;
  time: number;
  bits: number;
  nonce: number;
}

export interface Block {
  header: Header;
  txs: ParsedTx[];
}

export function encodeHeader(h: Header): Uint8Array {
  const out = new Uint8Array(80);
  const v = new DataView(out.buffer);
  v.setInt32(0, h.version, true);
  out.set(fromDisplayHex(h.prev), 4);
  out.set(fromDisplayHex(h.merkleRoot), 36);
  v.setUint32(68, h.time, true);
  v.setUint32(72, h.bits, true);
  v.setUint32(76, h.nonce, true);
  return out;
}

export function decodeHeader(b: Uint8Array): Header {
  if (b.length !== 80) throw new ChainError('BAD_BLOCK', `header must be 80 bytes, got ${b.length}`);
  const v = new DataView(b.buffer, b.byteOffset, 80);
  return {
    version: v.getInt32(0, true),
    prev: toDisplayHex(b.subarray(4, 36)),
    merkleRoot: toDisplayHex(b.subarray(36, 68)),
    time: v.getUint32(68, true),
    bits: v.getUint32(72, true),
    nonce: v.getUint32(76, true),
  };
}

export function headerHash(header: Uint8Array): string {
  return toDisplayHex(sha256d(header));
}

/** Compact "bits" to the 256-bit target. */
export function bitsToTarget(bits: number): bigint {
  const exp = bits >>> 24;
  const mant = BigInt(bits & 0x007fffff);
  return exp <= 3 ? mant >> BigInt(8 * (3 - exp)) : mant << BigInt(8 * (exp - 3));
}

/** Work a header proves: 2^256 / (target + 1), as Core's GetBlockProof. */
export function blockWork(bits: number): bigint {
  return (1n << 256n) / (bitsToTarget(bits) + 1n);
}

export function checkProofOfWork(header: Uint8Array, bits: number): boolean {
  return BigInt('0x' + headerHash(header)) <= bitsToTarget(bits);
}

/** Increments the nonce until the header hash is at or below the target. */
export function solve(h: Header): { header: Header; bytes: Uint8Array; hash: string } {
  const target = bitsToTarget(h.bits);
  const bytes = encodeHeader(h);
  const view = new DataView(bytes.buffer);
  for (let nonce = h.nonce; nonce <= 0xffffffff; nonce++) {
    view.setUint32(76, nonce, true);
    const hash = headerHash(bytes);
    if (BigInt('0x' + hash) <= target) return { header: { ...h, nonce }, bytes, hash };
  }
  throw new ChainError('BAD_BLOCK', 'nonce space exhausted; change the time or the coinbase');
}

/** Merkle root of display-order hashes, duplicating the last one of an odd level (CVE-2012-2459 is checked separately). */
export function merkleRoot(hashes: string[]): string {
  if (hashes.length === 0) return NULL_TXID;
  let level = hashes.map(fromDisplayHex);
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const a = level[i]!;
      const b = level[i + 1] ?? a;
      next.push(sha256d(concatBytes(a, b)));
    }
    level = next;
  }
  return toDisplayHex(level[0]!);
}

/** True when some level has two identical adjacent hashes (the malleation Core rejects as bad-txns-duplicate). */
export function merkleMutated(hashes: string[]): boolean {
  let level = hashes.map(fromDisplayHex);
  while (level.length > 1) {
    for (let i = 0; i + 1 < level.length; i += 2) if (bytesToHex(level[i]!) === bytesToHex(level[i + 1]!)) return true;
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(sha256d(concatBytes(level[i]!, level[i + 1] ?? level[i]!)));
    level = next;
  }
  return false;
}

export function witnessMerkleRoot(txs: ParsedTx[]): string {
  return merkleRoot(txs.map((t, i) => (i === 0 ? NULL_TXID : t.wtxid)));
}

/** The coinbase output script committing to the block's witnesses (BIP141). */
export function witnessCommitmentScript(txs: ParsedTx[]): Uint8Array {
  const commitment = sha256d(concatBytes(fromDisplayHex(witnessMerkleRoot(txs)), WITNESS_RESERVED_VALUE));
  return concatBytes(WITNESS_COMMITMENT_HEADER, commitment);
}

/** Index of the last output that looks like a witness commitment, or -1 (BIP141: the last one counts). */
export function findWitnessCommitment(coinbase: ParsedTx): number {
  let found = -1;
  coinbase.outputs.forEach((o, i) => {
    if (o.script.length >= 38 && WITNESS_COMMITMENT_HEADER.every((b, j) => o.script[j] === b)) found = i;
  });
  return found;
}

/** Minimal script-number push of the height, as Core's `CScript() << nHeight` (BIP34). */
export function bip34HeightPush(height: number): Uint8Array {
  if (height === 0) return new Uint8Array([0x00]);
  if (height >= 1 && height <= 16) return new Uint8Array([0x50 + height]);
  const bytes: number[] = [];
  let n = height;
  while (n > 0) {
    bytes.push(n & 0xff);
    n = Math.floor(n / 256);
  }
  if (bytes[bytes.length - 1]! & 0x80) bytes.push(0);
  return new Uint8Array([bytes.length, ...bytes]);
}

/**
 * A coinbase paying `value` to `script`; `extra` keeps coinbases of sibling blocks
 * (same height, same payee) distinct so their txids never collide (BIP30).
 */
export function buildCoinbase(height: number, script: Uint8Array, value: number, extra: number, otherTxs: ParsedTx[]): ParsedTx {
  const extraPush = bip34HeightPush(extra + 1);
  const scriptSig = concatBytes(bip34HeightPush(height), extraPush);
  const outputs: TxOut[] = [{ value, script }];
  const withWitness = otherTxs.some((t) => t.hasWitness);
  const draft = buildTx({
    version: 2,
    inputs: [{ txid: NULL_TXID, vout: 0xffffffff, scriptSig, sequence: 0xffffffff, witness: withWitness ? [WITNESS_RESERVED_VALUE] : [] }],
    outputs,
    lockTime: 0,
  });
  if (!withWitness) return draft;
  // The commitment covers wtxids, and the coinbase's own wtxid counts as zero, so adding it is safe.
  outputs.push({ value: 0, script: witnessCommitmentScript([draft, ...otherTxs]) });
  return buildTx({
    version: 2,
    inputs: [{ txid: NULL_TXID, vout: 0xffffffff, scriptSig, sequence: 0xffffffff, witness: [WITNESS_RESERVED_VALUE] }],
    outputs,
    lockTime: 0,
  });
}

export function encodeBlock(header: Uint8Array, txs: ParsedTx[]): Uint8Array {
  return concatBytes(header, CompactSize.encode(BigInt(txs.length)), ...txs.map((t) => t.raw));
}

/** Parses a serialized block; every tx is re-parsed (and so re-hashed) from its own bytes. */
export function decodeBlock(raw: Uint8Array): Block {
  if (raw.length < 81) throw new ChainError('BAD_BLOCK', `block must be at least 81 bytes, got ${raw.length}`);
  const header = decodeHeader(raw.subarray(0, 80));
  let pos = 80;
  const countBytes = raw.subarray(pos, pos + 9);
  const count = Number(CompactSize.decode(countBytes.subarray(0, varintSize(countBytes[0]!))));
  pos += varintSize(raw[pos]!);
  const txs: ParsedTx[] = [];
  for (let i = 0; i < count; i++) {
    const len = txLength(raw, pos);
    txs.push(parseTx(raw.slice(pos, pos + len)));
    pos += len;
  }
  if (pos !== raw.length) throw new ChainError('BAD_BLOCK', `block has ${raw.length - pos} trailing bytes`);
  return { header, txs };
}

function varintSize(first: number): number {
  return first < 0xfd ? 1 : first === 0xfd ? 3 : first === 0xfe ? 5 : 9;
}

function readVarint(b: Uint8Array, pos: number): [number, number] {
  const first = b[pos];
  if (first === undefined) throw new ChainError('BAD_BLOCK', 'truncated block');
  const size = varintSize(first);
  if (pos + size > b.length) throw new ChainError('BAD_BLOCK', 'truncated block');
  return [Number(CompactSize.decode(b.subarray(pos, pos + size))), size];
}

/** Byte length of the transaction starting at `start`, by walking its fields. */
function txLength(b: Uint8Array, start: number): number {
  let pos = start + 4;
  let segwit = false;
  if (b[pos] === 0 && b[pos + 1] === 1) {
    segwit = true;
    pos += 2;
  }
  const [nIn, s1] = readVarint(b, pos);
  pos += s1;
  for (let i = 0; i < nIn; i++) {
    pos += 36;
    const [len, s] = readVarint(b, pos);
    pos += s + len + 4;
  }
  const [nOut, s2] = readVarint(b, pos);
  pos += s2;
  for (let i = 0; i < nOut; i++) {
    pos += 8;
    const [len, s] = readVarint(b, pos);
    pos += s + len;
  }
  if (segwit) {
    for (let i = 0; i < nIn; i++) {
      const [items, s] = readVarint(b, pos);
      pos += s;
      for (let j = 0; j < items; j++) {
        const [len, s3] = readVarint(b, pos);
        pos += s3 + len;
      }
    }
  }
  pos += 4;
  if (pos > b.length) throw new ChainError('BAD_BLOCK', 'truncated block');
  return pos - start;
}

/** Bitcoin's regtest genesis block, byte for byte (its coinbase output is unspendable, as in Core). */
export function regtestGenesis(): { hash: string; header: Uint8Array; raw: Uint8Array; block: Block } {
  const coinbase = parseTx(
    hexToBytes(
      '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac00000000',
    ),
  );
  const header: Header = { version: 1, prev: NULL_TXID, merkleRoot: merkleRoot([coinbase.txid]), time: 1296688602, bits: REGTEST_BITS, nonce: 2 };
  const bytes = encodeHeader(header);
  return { hash: headerHash(bytes), header: bytes, raw: encodeBlock(bytes, [coinbase]), block: { header, txs: [coinbase] } };
}

export function sha256Hex(b: Uint8Array): string {
  return bytesToHex(sha256(b));
}
