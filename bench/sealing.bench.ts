// Relay sealing throughput and quote/receipt signing rates, native (node:crypto) vs pure (noble).
import { randomBytes } from 'node:crypto';
import { opsPerSecond, type Benchmark } from './harness.ts';
import { sealBlob } from '../src/core/blob.ts';
import { nobleAead, type Aead } from '../src/core/aead.ts';
import { nobleEd25519, type Ed25519 } from '../src/core/ed25519.ts';
import { nodeAead } from '../src/crypto/aead-node.ts';
import { nodeEd25519 } from '../src/crypto/ed25519-node.ts';
import { signQuote, signReceipt, verifyQuote, verifyReceipt, type UnsignedQuote } from '../src/core/objects/index.ts';

const rnd = (n: number) => new Uint8Array(randomBytes(n));

export const bench: Benchmark = {
  name: 'sealing',
  description: 'relay sealing (ChaCha20-Poly1305) MB/s and quote/receipt Ed25519 sign/verify per second',
  async run(report, log) {
    const k = rnd(32);
    for (const [impl, aead] of [['native', nodeAead], ['noble', nobleAead]] as [string, Aead][]) {
      for (const size of [1024, 65536]) {
        const c = rnd(size);
        const ops = await opsPerSecond(() => sealBlob(k, c, aead), 1500);
        report({ metric: `seal ${size / 1024} KiB (${impl})`, value: (ops * size) / 1e6, unit: 'MB/s' });
        log(`seal ${impl} ${size}: ${ops.toFixed(0)} ops/s`);
      }
    }
    const secret = rnd(32);
    for (const [impl, ed] of [['native', nodeEd25519()], ['noble', nobleEd25519]] as [string, Ed25519][]) {
      const relayId = ed.publicKey(secret);
      const uq: UnsignedQuote = {
        quoteId: rnd(16), offerId: rnd(16), relayId, relayUrl: 'http://127.0.0.1:8080', network: 'regtest', tag: rnd(32),
        mode: 'sender-pays', size: 1100, hk: rnd(32), contractPubkey: Uint8Array.of(2, ...rnd(32)), amount: 1500, locktime: 250,
        expiresAt: Date.now() + 7 * 86400e3, validUntil: Date.now() + 60e3,
      };
      const ur = { relayId, tag: rnd(32), hblob: rnd(32), hk: rnd(32), hc: rnd(32), expiresAt: Date.now() };
      const q = signQuote(uq, secret, ed);
      const r = signReceipt(ur, secret, ed);
      report({ metric: `quote sign (${impl})`, value: await opsPerSecond(() => signQuote(uq, secret, ed), 1000), unit: 'ops/s' });
      report({ metric: `quote verify (${impl})`, value: await opsPerSecond(() => verifyQuote(q, ed), 1000), unit: 'ops/s' });
      report({ metric: `receipt sign (${impl})`, value: await opsPerSecond(() => signReceipt(ur, secret, ed), 1000), unit: 'ops/s' });
      report({ metric: `receipt verify (${impl})`, value: await opsPerSecond(() => verifyReceipt(r, ed), 1000), unit: 'ops/s' });
    }
  },
};
