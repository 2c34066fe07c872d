// BIP125 replacement in the devnet mempool, rule by rule, and block assembly that leaves
// cheap transactions waiting (a fee spike).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Devnet } from '../../src/chain/devnet/devnet.ts';
import { key, outputTo, spend, tempDir, throwsCode, type Coin } from './helpers.ts';

const alice = key('alice');
const bob = key('bob');
const carol = key('carol');
const RBF = { sequence: 0xfffffffd };

function confirmedCoin(dn: Devnet, value = 100_000): Coin {
  const txid = dn.faucet(alice.script, value);
  dn.mine(1);
  return outputTo(dn, txid, alice.script);
}

test('a signalling transaction is replaced by one paying more; the replacement survives a restart', () => {
  const { dir, cleanup } = tempDir();
  const path = join(dir, 'devnet.sqlite');
  let dn = Devnet.open({ path, faucetBlocks: 101 });
  try {
    const coin = confirmedCoin(dn);
    const first = dn.submitTx(spend(alice, [coin], [{ script: bob.script, value: 99_000 }], RBF));
    const second = dn.submitTx(spend(alice, [coin], [{ script: carol.script, value: 98_500 }], RBF));
    assert.deepEqual(dn.mempoolTxids(), [second]);
    assert.equal(dn.getTx(first), undefined, 'the replaced transaction is gone');
    assert.equal(dn.getOutspend(coin.txid, coin.vout).txid, second);
    dn.close();
    dn = Devnet.open({ path });
    assert.deepEqual(dn.mempoolTxids(), [second]);
    dn.mine(1);
    assert.equal(dn.getTxStatus(second).confirmed, true);
  } finally {
    dn.close();
    cleanup();
  }
});

test('a transaction that does not signal (nor any unconfirmed ancestor) is not replaced', () => {
  const dn = Devnet.open({ path: ':memory:', faucetBlocks: 101 });
  try {
    const coin = confirmedCoin(dn);
    const first = dn.submitTx(spend(alice, [coin], [{ script: bob.script, value: 99_000 }]));
    throwsCode(() => dn.submitTx(spend(alice, [coin], [{ script: carol.script, value: 90_000 }], RBF)), 'INPUT_SPENT');
    assert.deepEqual(dn.mempoolTxids(), [first]);
  } finally {
    dn.close();
  }
});

test('a replacement must pay a higher fee rate, the replaced fees and the incremental relay fee', () => {
  const dn = Devnet.open({ path: ':memory:', faucetBlocks: 101 });
  try {
    const coin = confirmedCoin(dn);
    const first = dn.submitTx(spend(alice, [coin], [{ script: bob.script, value: 99_000 }], RBF));
    // Same fee and size: not a higher rate.
    throwsCode(() => dn.submitTx(spend(alice, [coin], [{ script: carol.script, value: 99_000 }], RBF)), 'FEE_TOO_LOW');
    // A higher rate, but 50 sats more do not pay 1 sat/vB for its ~110 vB.
    throwsCode(() => dn.submitTx(spend(alice, [coin], [{ script: carol.script, value: 98_950 }], RBF)), 'FEE_TOO_LOW');
    assert.deepEqual(dn.mempoolTxids(), [first]);
  } finally {
    dn.close();
  }
});

test('a replacement evicts the descendants too and must pay for them; it may add no new unconfirmed input', () => {
  const dn = Devnet.open({ path: ':memory:', faucetBlocks: 101 });
  try {
    const coin = confirmedCoin(dn);
    const other = outputTo(dn, dn.faucet(alice.script, 50_000), alice.script);
    const parent = dn.submitTx(spend(alice, [coin], [{ script: alice.script, value: 99_000 }], RBF));
    // The child does not signal: it is replaceable through its signalling parent.
    const child = dn.submitTx(spend(alice, [{ txid: parent, vout: 0, value: 99_000 }], [{ script: bob.script, value: 95_000 }]));
    // Above the parent's rate, but not the parent's and child's 5,000 sats together.
    throwsCode(() => dn.submitTx(spend(alice, [coin], [{ script: carol.script, value: 97_000 }], RBF)), 'FEE_TOO_LOW');
    // Spends an unconfirmed output (the faucet's) that neither replaced tx spent.
    throwsCode(() => dn.submitTx(spend(alice, [coin, other], [{ script: carol.script, value: 100_000 }], RBF)), 'NON_STANDARD');
    const replacement = dn.submitTx(spend(alice, [coin], [{ script: carol.script, value: 93_000 }], RBF));
    assert.deepEqual(dn.mempoolTxids().sort(), [other.txid, replacement].sort());
    assert.equal(dn.getTx(child), undefined, 'the child went with its parent');
  } finally {
    dn.close();
  }
});

test('mining with a minimum fee rate leaves cheaper transactions in the mempool', () => {
  const dn = Devnet.open({ path: ':memory:', faucetBlocks: 101 });
  try {
    const coin = confirmedCoin(dn);
    const cheap = dn.submitTx(spend(alice, [coin], [{ script: bob.script, value: 99_800 }], RBF));
    dn.mine(1, undefined, { minFeeRate: 5 });
    assert.deepEqual(dn.mempoolTxids(), [cheap]);
    const bumped = dn.submitTx(spend(alice, [coin], [{ script: bob.script, value: 99_000 }], RBF));
    dn.mine(1, undefined, { minFeeRate: 5 });
    assert.equal(dn.getTxStatus(bumped).confirmed, true);
    throwsCode(() => dn.mine(1, undefined, { minFeeRate: -1 }), 'BAD_REQUEST');
  } finally {
    dn.close();
  }
});
