// Reorganisations: most work wins, undo data restores the UTXO set, disconnected txs
// return to the mempool unless the new branch double-spent them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Devnet } from '../../src/chain/devnet/devnet.ts';
import type { ChainTip } from '../../src/chain/backend.ts';
import { handBlock, key, outputTo, spend, throwsCode } from './helpers.ts';

const alice = key('alice');
const bob = key('bob');
const carol = key('carol');

test('a longer branch mined with mineOn wins; its txs leave, the old ones return to the mempool', () => {
  const dn = Devnet.open({ path: ':memory:', faucetBlocks: 101 });
  try {
    const fork = dn.tip();
    const paid = dn.faucet(alice.script, 70_000);
    const [a1] = dn.mine(1);
    assert.equal(dn.getTxStatus(paid).blockHash, a1);
    const tips: ChainTip[] = [];
    dn.onTip((t) => tips.push(t));
    // Equal work: the first-seen chain stays.
    const [b1] = dn.mineOn(fork.hash, 1);
    assert.equal(dn.tip().hash, a1);
    assert.deepEqual(tips, []);
    const [b2] = dn.mineOn(b1!, 1);
    assert.deepEqual(dn.tip(), { height: fork.height + 2, hash: b2 });
    assert.deepEqual(tips, [{ height: fork.height + 2, hash: b2 }]);
    assert.equal(dn.getBlockHash(fork.height + 1), b1);
    assert.deepEqual(dn.getTxStatus(paid), { confirmed: false });
    assert.deepEqual(dn.mempoolTxids(), [paid]);
    assert.equal(dn.getScriptUtxos(alice.script)[0]!.status.confirmed, false);
    // The coinbase of the losing block is gone from the UTXO set and the tx index.
    const a1Coinbase = dn.getBlock(a1!)!.txids[0]!;
    assert.equal(dn.getTx(a1Coinbase), undefined);
    assert.ok(dn.getBlock(a1!), 'the stale block stays known');
    dn.mine(1);
    assert.equal(dn.getTxStatus(paid).confirmed, true);
  } finally {
    dn.close();
  }
});

test('invalidateBlock disconnects; a branch double-spending a tx evicts it for good', () => {
  const dn = Devnet.open({ path: ':memory:', faucetBlocks: 101 });
  try {
    const fundTxid = dn.faucet(alice.script, 100_000);
    dn.mine(1);
    const coin = outputTo(dn, fundTxid, alice.script);
    const fork = dn.tip();
    const toBob = dn.submitTx(spend(alice, [coin], [{ script: bob.script, value: 99_000 }]));
    const faucetPaid = dn.faucet(carol.script, 5_000);
    const [x1] = dn.mine(1);
    assert.deepEqual(dn.mempoolTxids(), []);

    dn.invalidateBlock(x1!);
    assert.deepEqual(dn.tip(), fork);
    assert.deepEqual(new Set(dn.mempoolTxids()), new Set([toBob, faucetPaid]));
    assert.equal(dn.getOutspend(coin.txid, coin.vout).txid, toBob);
    // Mining on an invalid block is refused; so is resubmitting it.
    throwsCode(() => dn.mineOn(x1!, 1), 'BAD_BLOCK');

    // A branch where alice paid carol instead.
    const toCarol = spend(alice, [coin], [{ script: carol.script, value: 98_000 }]);
    const y1 = dn.submitBlock(handBlock(dn, fork.hash, [toCarol], alice.script));
    dn.mine(1);
    assert.equal(dn.getBlockHash(fork.height + 1), y1);
    assert.equal(dn.getTx(toBob), undefined, 'the double-spent tx is gone');
    assert.equal(dn.getTxStatus(faucetPaid).confirmed, true, 'the unrelated tx was mined again');
    assert.deepEqual(dn.getScriptUtxos(bob.script), []);
    assert.equal(dn.getScriptUtxos(carol.script).find((u) => u.value === 98_000)!.status.confirmed, true);
    throwsCode(() => dn.invalidateBlock('00'.repeat(32)), 'NOT_FOUND');
    throwsCode(() => dn.invalidateBlock(dn.getBlockHash(0)!), 'BAD_REQUEST');
  } finally {
    dn.close();
  }
});

test('a branch holding an invalid block is marked invalid and the valid chain stays', () => {
  const dn = Devnet.open({ path: ':memory:', faucetBlocks: 101 });
  try {
    const fundTxid = dn.faucet(alice.script, 100_000);
    dn.mine(1);
    const coin = outputTo(dn, fundTxid, alice.script);
    const tip = dn.tip();
    // Signed by bob for alice's coin: passes the context-free checks, fails on connect.
    const theft = spend(bob, [coin], [{ script: bob.script, value: 99_000 }]);
    const bad = handBlock(dn, tip.hash, [theft], bob.script);
    throwsCode(() => dn.submitBlock(bad), 'BAD_BLOCK');
    assert.deepEqual(dn.tip(), tip);
    assert.deepEqual(dn.getOutspend(coin.txid, coin.vout), { spent: false });
    throwsCode(() => dn.submitBlock(bad), 'BAD_BLOCK');
  } finally {
    dn.close();
  }
});
