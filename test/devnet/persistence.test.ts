// Closing and reopening the same file continues exactly where the chain stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Devnet } from '../../src/chain/devnet/devnet.ts';
import { DEVNET_FAUCET_SCRIPT } from '../../src/chain/devnet/faucet.ts';
import { key, outputTo, spend, tempDir } from './helpers.ts';

const alice = key('alice');
const bob = key('bob');

test('restart: same tip, UTXOs, mempool, history; mining continues and reorgs still undo', () => {
  const { dir, cleanup } = tempDir();
  const path = join(dir, 'chain', 'devnet.sqlite');
  try {
    let dn = Devnet.open({ path, faucetBlocks: 101, synchronous: 'FULL' });
    const f = dn.faucet(alice.script, 100_000);
    dn.mine(1);
    const coin = outputTo(dn, f, alice.script);
    const pendingParent = dn.submitTx(spend(alice, [coin], [{ script: bob.script, value: 99_000 }]));
    const pendingChild = dn.submitTx(spend(bob, [outputTo(dn, pendingParent, bob.script)], [{ script: alice.script, value: 98_000 }]));
    const tip = dn.tip();
    const utxos = dn.getScriptUtxos(DEVNET_FAUCET_SCRIPT);
    const history = dn.getScriptHistory(alice.script);
    const mempool = dn.mempoolTxids();
    dn.close();

    dn = Devnet.open({ path });
    try {
      assert.deepEqual(dn.tip(), tip, 'no blocks mined on reopen');
      assert.deepEqual(dn.getScriptUtxos(DEVNET_FAUCET_SCRIPT), utxos);
      assert.deepEqual(dn.getScriptHistory(alice.script), history);
      assert.deepEqual(dn.mempoolTxids(), mempool);
      assert.deepEqual(mempool, [pendingParent, pendingChild]);
      assert.equal(dn.getOutspend(coin.txid, coin.vout).txid, pendingParent);
      const [h] = dn.mine(1);
      assert.deepEqual(dn.getBlock(h!)!.txids.slice(1), [pendingParent, pendingChild]);
      dn.invalidateBlock(h!);
      assert.deepEqual(dn.tip(), tip);
      assert.deepEqual(dn.mempoolTxids(), [pendingParent, pendingChild]);
    } finally {
      dn.close();
    }
  } finally {
    cleanup();
  }
});

test('reopening never mines: a chain created empty stays at genesis', () => {
  const { dir, cleanup } = tempDir();
  const path = join(dir, 'empty.sqlite');
  try {
    Devnet.open({ path, faucetBlocks: 0 }).close();
    const dn = Devnet.open({ path });
    try {
      assert.equal(dn.tip().height, 0);
      assert.equal(dn.tip().hash, '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206');
    } finally {
      dn.close();
    }
  } finally {
    cleanup();
  }
});

test('bytes handed out are plain Uint8Arrays, also after a restart', () => {
  const { dir, cleanup } = tempDir();
  const path = join(dir, 'bytes.sqlite');
  try {
    let dn = Devnet.open({ path, faucetBlocks: 101 });
    const pending = dn.faucet(alice.script, 10_000);
    const confirmed = dn.getBlock(dn.tip().hash)!.txids[0]!;
    dn.close();
    dn = Devnet.open({ path });
    try {
      for (const b of [dn.getTx(pending)!.raw, dn.getTx(confirmed)!.raw, dn.getBlock(dn.tip().hash)!.raw, dn.getBlock(dn.tip().hash)!.header]) {
        assert.equal(Object.getPrototypeOf(b), Uint8Array.prototype);
      }
    } finally {
      dn.close();
    }
  } finally {
    cleanup();
  }
});
