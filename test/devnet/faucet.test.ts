import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Devnet, FEE_TARGETS } from '../../src/chain/devnet/devnet.ts';
import { DEVNET_FAUCET_KEY, DEVNET_FAUCET_SCRIPT, DEVNET_FAUCET_SEED } from '../../src/chain/devnet/faucet.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { key, throwsCode } from './helpers.ts';

test('the faucet key is the documented public derivation', () => {
  assert.equal(DEVNET_FAUCET_SEED, 'satpost devnet faucet v1');
  assert.equal(bytesToHex(DEVNET_FAUCET_KEY), bytesToHex(sha256(utf8ToBytes('satpost devnet faucet v1'))));
  assert.equal(DEVNET_FAUCET_SCRIPT.length, 22);
  assert.equal(DEVNET_FAUCET_SCRIPT[0], 0x00);
});

test('a new chain has mature faucet coins; many faucet calls in a row work without mining', () => {
  const dn = Devnet.open({ path: ':memory:' });
  try {
    assert.equal(dn.tip().height, 110);
    const payees = Array.from({ length: 40 }, (_, i) => key(`payee ${i}`));
    const txids = payees.map((p, i) => dn.faucet(p.script, 1_000 + i));
    assert.equal(new Set(txids).size, 40);
    assert.deepEqual(dn.mempoolTxids(), txids);
    payees.forEach((p, i) => assert.equal(dn.getScriptUtxos(p.script)[0]!.value, 1_000 + i));
    dn.mine(1);
    assert.deepEqual(dn.mempoolTxids(), []);
    for (const t of txids) assert.equal(dn.getTxStatus(t).confirmed, true);
    throwsCode(() => dn.faucet(payees[0]!.script, 0), 'BAD_REQUEST');
    throwsCode(() => dn.faucet(payees[0]!.script, 1.5), 'BAD_REQUEST');
    throwsCode(() => dn.faucet(payees[0]!.script, 21e14 + 1), 'BAD_REQUEST');
  } finally {
    dn.close();
  }
});

test('the faucet mines to itself when it has no mature coins, and can pay more than one coinbase', () => {
  const dn = Devnet.open({ path: ':memory:', faucetBlocks: 0 });
  try {
    const p = key('big payee');
    const txid = dn.faucet(p.script, 120 * 100_000_000);
    // At height 102 the coinbases of heights 1..3 (150 BTC) are mature; at 101 only 100 BTC.
    assert.equal(dn.tip().height, 102);
    assert.equal(dn.getTx(txid)!.status.confirmed, false);
    assert.equal(dn.getScriptUtxos(p.script)[0]!.value, 120 * 100_000_000);
  } finally {
    dn.close();
  }
});

test('fee estimates come from the mempool and never go below the relay minimum', () => {
  const dn = Devnet.open({ path: ':memory:', faucetBlocks: 101, minRelayFeeRate: 2 });
  try {
    const floor = Object.fromEntries(FEE_TARGETS.map((t) => [String(t), 2]));
    assert.deepEqual(dn.feeEstimates(), floor);
    dn.faucet(key('x').script, 5_000);
    assert.deepEqual(dn.feeEstimates(), floor);
  } finally {
    dn.close();
  }
});

test('auto-mining produces blocks until stopped', async () => {
  const dn = Devnet.open({ path: ':memory:', faucetBlocks: 1 });
  try {
    const start = dn.tip().height;
    const reached = new Promise<void>((resolve) => {
      const off = dn.onTip((t) => {
        if (t.height >= start + 2) {
          off();
          resolve();
        }
      });
    });
    dn.startAutoMine(5);
    await reached;
    dn.stopAutoMine();
    assert.ok(dn.tip().height >= start + 2);
    throwsCode(() => dn.startAutoMine(0), 'BAD_REQUEST');
  } finally {
    dn.close();
  }
});
