// Sealing off the main thread: the worker's results are byte-identical to inline sealing,
// receipts verify and bind the blob, and a closed sealer refuses new work with a typed code.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { openBlob } from '../../src/core/blob.ts';
import { MAX_BODY } from '../../src/core/limits.ts';
import { verifyReceipt, ReceiptCodec, messageIdOf } from '../../src/core/objects/index.ts';
import { nodeAead } from '../../src/crypto/aead-node.ts';
import { nodeEd25519 } from '../../src/crypto/ed25519-node.ts';
import { RelayError } from '../../src/relay/errors.ts';
import { decodeJobs, encodeJobs, type SealJob } from '../../src/relay/seal.ts';
import { InlineSealer, WorkerSealer } from '../../src/relay/sealer.ts';

const ed = nodeEd25519();
const rnd = (n: number) => new Uint8Array(randomBytes(n));
const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

function job(size: number): SealJob {
  const k = rnd(32);
  return { k, hk: sha256(k), mailbox: rnd(32), expiresAt: 1_800_000_000_000 + size, body: rnd(size) };
}

describe('sealers', { timeout: 30_000 }, () => {
  const nodeSecret = rnd(32);
  const relayId = ed.publicKey(nodeSecret);
  const keys = { nodeSecret, relayId, ed, aead: nodeAead };

  it('the job batch encoding round-trips, empty bodies and views of larger buffers included', () => {
    const pool = rnd(4096);
    const jobs = [job(0), job(1024), { ...job(10), body: pool.subarray(100, 110) }];
    const back = decodeJobs(encodeJobs(jobs));
    assert.equal(back.length, 3);
    back.forEach((b, i) => {
      for (const f of ['k', 'hk', 'mailbox', 'body'] as const) assert.deepEqual(new Uint8Array(b[f]), new Uint8Array(jobs[i]![f]), f);
      assert.equal(b.expiresAt, jobs[i]!.expiresAt);
    });
  });

  it('a worker batch gives the same bytes as inline sealing; receipts verify and bind blob and body', async () => {
    const inline = new InlineSealer(keys);
    const worker = new WorkerSealer(keys, 7, 1024);
    try {
      // 40 jobs in one turn: several worker messages of at most 7 jobs each, answered in order;
      // the bodies above 1024 bytes are sealed inline by the WorkerSealer itself.
      const jobs = Array.from({ length: 40 }, (_, i) => job(i * 37));
      const [a, b] = await Promise.all([Promise.all(jobs.map((j) => inline.seal(j))), Promise.all(jobs.map((j) => worker.seal(j)))]);
      jobs.forEach((j, i) => {
        const w = b[i]!;
        assert.deepEqual(new Uint8Array(w.encoded), new Uint8Array(a[i]!.encoded), 'same receipt bytes');
        assert.deepEqual(new Uint8Array(w.blob), new Uint8Array(a[i]!.blob), 'same blob');
        assert.deepEqual(ReceiptCodec.decode(w.encoded), { ...w.receipt, messageId: new Uint8Array(w.receipt.messageId), hblob: new Uint8Array(w.receipt.hblob), hc: new Uint8Array(w.receipt.hc), signature: new Uint8Array(w.receipt.signature) });
        assert.ok(verifyReceipt(ReceiptCodec.decode(w.encoded), ed));
        assert.deepEqual(new Uint8Array(w.receipt.messageId), messageIdOf(j.hk));
        assert.deepEqual(new Uint8Array(w.receipt.hblob), sha256(w.blob));
        assert.deepEqual(new Uint8Array(w.receipt.hc), sha256(j.body));
        assert.deepEqual(openBlob(j.k, w.blob, nodeAead), j.body);
      });
    } finally {
      await worker.close();
    }
  });

  it('close waits for work already taken, then refuses new work with SHUTTING_DOWN', async () => {
    const worker = new WorkerSealer(keys);
    worker.warm();
    const pending = worker.seal(job(64));
    await worker.close();
    assert.ok(verifyReceipt((await pending).receipt, ed), 'taken before close: sealed');
    await assert.rejects(worker.seal(job(64)), (e: unknown) => RelayError.is(e, 'SHUTTING_DOWN'));
  });

  it('a job with a wrong key length is refused with INTERNAL before it reaches the worker', async () => {
    const worker = new WorkerSealer(keys);
    try {
      await assert.rejects(worker.seal({ ...job(16), k: rnd(31) }), (e: unknown) => RelayError.is(e, 'INTERNAL') && /"k" expected 32 bytes, got 31 bytes/.test((e as Error).message));
    } finally {
      await worker.close();
    }
  });

  it('a job the worker fails on is refused with INTERNAL alone; its batch-mates and later jobs are sealed', async () => {
    const worker = new WorkerSealer(keys, 256, Infinity);
    try {
      // Larger than any body the relay takes: sealBlob refuses it inside the worker (nothing is inline here).
      const huge = { ...job(0), body: new Uint8Array(MAX_BODY + 1) };
      const [ok1, bad, ok2] = await Promise.allSettled([worker.seal(job(16)), worker.seal(huge), worker.seal(job(16))]);
      assert.equal(bad.status, 'rejected');
      assert.ok(RelayError.is((bad as PromiseRejectedResult).reason, 'INTERNAL'));
      assert.equal(ok1.status, 'fulfilled');
      assert.equal(ok2.status, 'fulfilled');
      assert.ok(verifyReceipt((await worker.seal(job(16))).receipt, ed));
    } finally {
      await worker.close();
    }
  });
});
