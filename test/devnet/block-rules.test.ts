// Blocks that mining through the mempool never produces, each refused for its own rule,
// and the facade's input validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Devnet } from '../../src/chain/devnet/devnet.ts';
import { REGTEST_BITS, buildCoinbase, encodeBlock, encodeHeader, merkleRoot, solve } from '../../src/chain/devnet/block.ts';
import { blockSubsidy } from '../../src/chain/devnet/consensus.ts';
import { buildTx, parseTx } from '../../src/chain/devnet/tx.ts';
import type { ParsedTx } from '../../src/chain/devnet/tx.ts';
import { key, outputTo, spend, throwsCode } from './helpers.ts';

const alice = key('alice');
const bob = key('bob');

function blockWith(dn: Devnet, coinbase: ParsedTx, txs: ParsedTx[], opts: { time?: number; solveIt?: boolean } = {}): Uint8Array {
  const tip = dn.getBlock(dn.tip().hash)!;
  const all = [coinbase, ...txs];
  const header = { version: 0x20000000, prev: tip.hash, merkleRoot: merkleRoot(all.map((t) => t.txid)), time: opts.time ?? tip.time + 1, bits: REGTEST_BITS, nonce: 0 };
  if (opts.solveIt === false) {
    // Find a nonce whose hash misses the (generous) regtest target.
    for (let nonce = 0; ; nonce++) {
      const bytes = encodeHeader({ ...header, nonce });
      if (solve({ ...header, nonce }).header.nonce !== nonce) return encodeBlock(bytes, all);
    }
  }
  return encodeBlock(solve(header).bytes, all);
}

test('block rules: PoW, coinbase value, BIP34 height, witness commitment, time, unknown parent', () => {
  const dn = Devnet.open({ path: ':memory:', faucetBlocks: 101 });
  try {
    const f = dn.faucet(alice.script, 100_000);
    dn.mine(1);
    const coin = outputTo(dn, f, alice.script);
    const h = dn.tip().height + 1;
    const segwitTx = parseTx(spend(alice, [coin], [{ script: bob.script, value: 99_000 }]));

    throwsCode(() => dn.submitBlock(blockWith(dn, buildCoinbase(h, bob.script, blockSubsidy(h), 1, []), [], { solveIt: false })), 'BAD_BLOCK', /high-hash/);
    // Subsidy plus the 1,000 sat fee is the most a coinbase may claim.
    throwsCode(() => dn.submitBlock(blockWith(dn, buildCoinbase(h, bob.script, blockSubsidy(h) + 1_001, 1, [segwitTx]), [segwitTx])), 'BAD_BLOCK', /coinbase value/);
    throwsCode(() => dn.submitBlock(blockWith(dn, buildCoinbase(h + 1, bob.script, blockSubsidy(h), 1, []), [])), 'BAD_BLOCK', /bad-cb-height/);
    // Coinbase built without a witness commitment, block carrying a witness tx.
    throwsCode(() => dn.submitBlock(blockWith(dn, buildCoinbase(h, bob.script, blockSubsidy(h), 1, []), [segwitTx])), 'BAD_BLOCK', /unexpected-witness/);
    // Commitment computed over a different tx set.
    const other = parseTx(spend(alice, [coin], [{ script: alice.script, value: 98_000 }]));
    throwsCode(() => dn.submitBlock(blockWith(dn, buildCoinbase(h, bob.script, blockSubsidy(h), 1, [other]), [segwitTx])), 'BAD_BLOCK', /bad-witness-merkle-match/);
    // Time not above the median time past.
    throwsCode(() => dn.submitBlock(blockWith(dn, buildCoinbase(h, bob.script, blockSubsidy(h), 1, []), [], { time: 1 })), 'BAD_BLOCK', /median time past/);
    // Two coinbases.
    const cb2 = buildCoinbase(h, alice.script, 1, 2, []);
    throwsCode(() => dn.submitBlock(blockWith(dn, buildCoinbase(h, bob.script, blockSubsidy(h), 1, []), [cb2])), 'BAD_BLOCK', /bad-cb-multiple/);
    // Unknown parent and garbage.
    const cb = buildCoinbase(h, bob.script, blockSubsidy(h), 1, []);
    const orphanHeader = solve({ version: 0x20000000, prev: 'ab'.repeat(32), merkleRoot: cb.txid, time: dn.getBlock(dn.tip().hash)!.time + 1, bits: REGTEST_BITS, nonce: 0 });
    const orphan = encodeBlock(orphanHeader.bytes, [cb]);
    throwsCode(() => dn.submitBlock(orphan), 'BAD_BLOCK', /unknown block/);
    throwsCode(() => dn.submitBlock(new Uint8Array(50)), 'BAD_BLOCK');
    // Nothing above changed the chain; the honest block is accepted and resubmitting it is a no-op.
    const good = blockWith(dn, buildCoinbase(h, bob.script, blockSubsidy(h) + 1_000, 1, [segwitTx]), [segwitTx]);
    const hash = dn.submitBlock(good);
    assert.equal(dn.submitBlock(good), hash);
    assert.deepEqual(dn.tip(), { height: h, hash });
    assert.equal(dn.getTx(segwitTx.txid)!.status.blockHash, hash);
    assert.equal(dn.getBlock(hash)!.txids.length, 2);
  } finally {
    dn.close();
  }
});

test('the facade validates its arguments', () => {
  const dn = Devnet.open({ path: ':memory:', faucetBlocks: 1 });
  try {
    throwsCode(() => dn.getTx('xyz'), 'BAD_REQUEST');
    throwsCode(() => dn.getTxStatus('AB'.repeat(32)), 'BAD_REQUEST');
    throwsCode(() => dn.getOutspend('ab'.repeat(32), -1), 'BAD_REQUEST');
    throwsCode(() => dn.mine(-1), 'BAD_REQUEST');
    throwsCode(() => dn.mineOn('ab'.repeat(32), 1), 'NOT_FOUND');
    throwsCode(() => dn.submitTx(buildTx({ version: 2, inputs: [{ txid: '00'.repeat(32), vout: 0xffffffff, scriptSig: new Uint8Array(4), sequence: 0 }], outputs: [{ value: 1, script: alice.script }], lockTime: 0 }).raw), 'MALFORMED_TX');
    assert.equal(dn.getTx('ab'.repeat(32)), undefined);
    assert.deepEqual(dn.getTxStatus('ab'.repeat(32)), { confirmed: false });
    assert.deepEqual(dn.getOutspend('ab'.repeat(32), 0), { spent: false });
    assert.equal(dn.getBlock('ab'.repeat(32)), undefined);
    assert.equal(dn.getBlockHash(-1), undefined);
    assert.equal(dn.getBlockHash(2), undefined);
    assert.equal(dn.getBlockHash(0), '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206');
    assert.equal(dn.network, 'regtest');
    const g = dn.getBlock(dn.getBlockHash(0)!)!;
    assert.equal(g.size, 285);
    assert.equal(g.header.length, 80);
  } finally {
    dn.close();
  }
});
