/**
 * The CPU-bound part of storing a deposit, kept apart so it can run on a worker thread:
 * seal the body under k (blob), hash what the receipt names, sign the receipt with the
 * node key. The same function
 * runs inline (sealer.ts, InlineSealer) and in the worker (seal-worker.ts), so both
 * produce byte-identical receipts.
 *
 * Batches cross the thread boundary as one transferred ArrayBuffer each way (no
 * structured clone of many small arrays, and never of a socket's pooled buffer):
 *   job:    k 32 | hk 32 | mailbox 32 | expiresAt f64 | body len u32 | body
 *   result: 0 | messageId 32 | hblob 32 | hc 32 | signature 64 | receipt len u32 | receipt | blob len u32 | blob
 *       or: 1 | message len u32 | UTF-8 message        (that job failed; the others stand)
 */
import { createHash } from 'node:crypto';
import type { Aead } from '../core/aead.ts';
import { sealBlob } from '../core/blob.ts';
import type { Ed25519 } from '../core/ed25519.ts';
import { ReceiptCodec, signReceipt, type Receipt } from '../core/objects/index.ts';

export interface SealJob {
  k: Uint8Array;
  hk: Uint8Array;
  mailbox: Uint8Array;
  expiresAt: number;
  /** c, the body as deposited. */
  body: Uint8Array;
}

export interface Sealed {
  blob: Uint8Array;
  receipt: Receipt;
  /** The receipt's canonical bytes. */
  encoded: Uint8Array;
}

export interface SealKeys {
  nodeSecret: Uint8Array;
  relayId: Uint8Array;
  ed: Ed25519;
  aead: Aead;
}

const sha256 = (b: Uint8Array): Uint8Array => {
  const d = createHash('sha256').update(b).digest();
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
};

export function sealDeposit(job: SealJob, keys: SealKeys): Sealed {
  const blob = sealBlob(job.k, job.body, keys.aead);
  const receipt = signReceipt(
    { relayId: keys.relayId, tag: job.mailbox, hblob: sha256(blob), hk: job.hk, hc: sha256(job.body), expiresAt: job.expiresAt },
    keys.nodeSecret,
    keys.ed,
  );
  return { blob, receipt, encoded: ReceiptCodec.encode(receipt) };
}

const JOB_FIXED = 32 * 3 + 8 + 4;
const RESULT_FIXED = 1 + 32 * 3 + 64 + 4 + 4;

/** A job that failed in the worker: only its message crosses back. */
export class SealFailure {
  constructor(readonly message: string) {}
}

export function encodeJobs(jobs: readonly SealJob[]): ArrayBuffer {
  let n = 0;
  for (const j of jobs) n += JOB_FIXED + j.body.length;
  const buf = new ArrayBuffer(n);
  const out = new Uint8Array(buf);
  const view = new DataView(buf);
  let at = 0;
  for (const j of jobs) {
    out.set(j.k, at);
    out.set(j.hk, at + 32);
    out.set(j.mailbox, at + 64);
    view.setFloat64(at + 96, j.expiresAt);
    at += 104;
    at = putBytes(out, view, at, j.body);
  }
  return buf;
}

export function decodeJobs(buf: ArrayBuffer): SealJob[] {
  const data = new Uint8Array(buf);
  const view = new DataView(buf);
  const jobs: SealJob[] = [];
  let at = 0;
  while (at < data.length) {
    const k = data.subarray(at, at + 32);
    const hk = data.subarray(at + 32, at + 64);
    const mailbox = data.subarray(at + 64, at + 96);
    const expiresAt = view.getFloat64(at + 96);
    at += 104;
    const body = getBytes(data, view, at);
    at += 4 + body.length;
    jobs.push({ k, hk, mailbox, expiresAt, body });
  }
  return jobs;
}

export function encodeResults(results: readonly (Sealed | SealFailure)[]): ArrayBuffer {
  const enc = new TextEncoder();
  const messages = results.map((r) => (r instanceof SealFailure ? enc.encode(r.message) : undefined));
  let n = 0;
  results.forEach((r, i) => (n += r instanceof SealFailure ? 5 + messages[i]!.length : RESULT_FIXED + r.encoded.length + r.blob.length));
  const buf = new ArrayBuffer(n);
  const out = new Uint8Array(buf);
  const view = new DataView(buf);
  let at = 0;
  results.forEach((r, i) => {
    if (r instanceof SealFailure) {
      out[at] = 1;
      at = putBytes(out, view, at + 1, messages[i]!);
      return;
    }
    out[at] = 0;
    out.set(r.receipt.messageId, at + 1);
    out.set(r.receipt.hblob, at + 33);
    out.set(r.receipt.hc, at + 65);
    out.set(r.receipt.signature, at + 97);
    at += 161;
    at = putBytes(out, view, at, r.encoded);
    at = putBytes(out, view, at, r.blob);
  });
  return buf;
}

/** The results of `jobs` (same order); the receipt's other fields come from the jobs. */
export function decodeResults(buf: ArrayBuffer, jobs: readonly SealJob[], relayId: Uint8Array): (Sealed | SealFailure)[] {
  const data = new Uint8Array(buf);
  const view = new DataView(buf);
  let at = 0;
  return jobs.map((j) => {
    if (data[at] === 1) {
      const message = getBytes(data, view, at + 1);
      at += 5 + message.length;
      return new SealFailure(new TextDecoder().decode(message));
    }
    const messageId = data.subarray(at + 1, at + 33);
    const hblob = data.subarray(at + 33, at + 65);
    const hc = data.subarray(at + 65, at + 97);
    const signature = data.subarray(at + 97, at + 161);
    at += 161;
    const encoded = getBytes(data, view, at);
    at += 4 + encoded.length;
    const blob = getBytes(data, view, at);
    at += 4 + blob.length;
    const receipt: Receipt = { messageId, relayId, tag: j.mailbox, hblob, hk: j.hk, hc, expiresAt: j.expiresAt, signature };
    return { blob, receipt, encoded };
  });
}

function putBytes(out: Uint8Array, view: DataView, at: number, b: Uint8Array): number {
  view.setUint32(at, b.length);
  out.set(b, at + 4);
  return at + 4 + b.length;
}

function getBytes(data: Uint8Array, view: DataView, at: number): Uint8Array {
  const n = view.getUint32(at);
  return data.subarray(at + 4, at + 4 + n);
}
