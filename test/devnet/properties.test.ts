// Property tests for the pure parts: header round trips, BIP34 pushes, and block assembly
// order (parents first, weight bound) over random mempool graphs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ScriptNum } from '@scure/btc-signer';
import { bytesToHex } from '@noble/hashes/utils.js';
import { bip34HeightPush, decodeHeader, encodeHeader } from '../../src/chain/devnet/block.ts';
import { Mempool } from '../../src/chain/devnet/mempool.ts';
import type { ParsedTx } from '../../src/chain/devnet/tx.ts';

const hash = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytesToHex);

test('headers round-trip for any field values', () => {
  fc.assert(
    fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), hash, hash, fc.nat({ max: 2 ** 32 - 1 }), fc.nat({ max: 2 ** 32 - 1 }), fc.nat({ max: 2 ** 32 - 1 }), (version, prev, merkleRoot, time, bits, nonce) => {
      const h = { version, prev, merkleRoot, time, bits, nonce };
      assert.deepEqual(decodeHeader(encodeHeader(h)), h);
    }),
  );
});

test('BIP34 pushes decode back to the height as a minimal script number', () => {
  fc.assert(
    fc.property(fc.integer({ min: 17, max: 2 ** 31 - 1 }), (height) => {
      const push = bip34HeightPush(height);
      assert.equal(push[0], push.length - 1);
      assert.equal(ScriptNum().decode(push.subarray(1)), BigInt(height));
    }),
  );
});

/** A fake mempool entry: only ids, links, fee, weight and vsize (the fee-rate floor) matter to selection. */
function entry(id: number, parents: number[], fee: number, weight: number) {
  const tx = {
    txid: id.toString(16).padStart(64, '0'),
    inputs: parents.map((p) => ({ txid: p.toString(16).padStart(64, '0'), vout: id, scriptSig: new Uint8Array(), sequence: 0, witness: [] })),
    outputs: Array.from({ length: 64 }, () => ({ value: 1, script: new Uint8Array() })),
    weight,
    vsize: Math.ceil(weight / 4),
  } as unknown as ParsedTx;
  return { tx, fee, seq: id, time: 0, prevouts: [] };
}

test('block assembly: parents precede children, the weight bound holds, and everything fits when it can', () => {
  const graph = fc.array(fc.record({ parents: fc.array(fc.nat(), { maxLength: 3 }), fee: fc.nat({ max: 100_000 }), weight: fc.integer({ min: 400, max: 5_000 }) }), { minLength: 1, maxLength: 40 });
  fc.assert(
    fc.property(graph, fc.integer({ min: 1_000, max: 100_000 }), (nodes, maxWeight) => {
      const mp = new Mempool();
      nodes.forEach((n, i) => {
        // Parents only among earlier entries, so the graph is acyclic as a real mempool is.
        const parents = i === 0 ? [] : [...new Set(n.parents.map((p) => p % i))];
        mp.add(entry(i + 1, parents.map((p) => p + 1), n.fee, n.weight));
      });
      const chosen = mp.select(maxWeight);
      const pos = new Map(chosen.map((e, i) => [e.tx.txid, i]));
      let weight = 0;
      for (const e of chosen) {
        weight += e.tx.weight;
        for (const p of mp.parents(e)) assert.ok((pos.get(p) ?? Infinity) < pos.get(e.tx.txid)!, 'parent after child');
      }
      assert.ok(weight <= maxWeight);
      const total = nodes.reduce((s, n) => s + n.weight, 0);
      if (total <= maxWeight) assert.equal(chosen.length, nodes.length);
    }),
  );
});
