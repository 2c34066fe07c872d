// Mempool acceptance and refusal, one rule at a time. Transactions are built and signed
// with @scure/btc-signer; the devnet checks them with bitcore's interpreter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Devnet } from '../../src/chain/devnet/devnet.ts';
import { parseTx } from '../../src/chain/devnet/tx.ts';
import { cltvScript, handBlock, key, outputTo, spend, spendCltv, throwsCode } from './helpers.ts';

const alice = key('alice');
const bob = key('bob');

function fresh(): Devnet {
  return Devnet.open({ path: ':memory:', faucetBlocks: 101 });
}

/** A confirmed coin of `value` sats paying alice. */
function fundedCoin(dn: Devnet, value = 100_000) {
  const txid = dn.faucet(alice.script, value);
  dn.mine(1);
  return outputTo(dn, txid, alice.script);
}

test('a valid P2WPKH spend is accepted, reported in the mempool, and confirmed by mining', () => {
  const dn = fresh();
  try {
    const coin = fundedCoin(dn);
    const txid = dn.submitTx(spend(alice, [coin], [{ script: bob.script, value: 99_000 }]));
    assert.deepEqual(dn.mempoolTxids(), [txid]);
    assert.equal(dn.getTx(txid)!.fee, 1_000);
    assert.deepEqual(dn.getOutspend(coin.txid, coin.vout), { spent: true, txid, vin: 0, status: { confirmed: false } });
    assert.deepEqual(dn.getScriptUtxos(alice.script), []);
    assert.equal(dn.getScriptUtxos(bob.script)[0]!.value, 99_000);
    const [hash] = dn.mine(1);
    assert.deepEqual(dn.getTxStatus(txid), { confirmed: true, blockHeight: dn.tip().height, blockHash: hash, blockTime: dn.getBlock(hash!)!.time });
    assert.deepEqual(dn.mempoolTxids(), []);
    assert.equal(dn.getOutspend(coin.txid, coin.vout).status?.confirmed, true);
    assert.deepEqual(dn.getScriptHistory(alice.script).map((h) => h.txid), [txid, coin.txid]);
    throwsCode(() => dn.submitTx(dn.getTx(txid)!.raw), 'DUPLICATE_TX');
  } finally {
    dn.close();
  }
});

test('a bad signature is refused as BAD_SIGNATURE; a wrong key too', () => {
  const dn = fresh();
  try {
    const coin = fundedCoin(dn);
    const good = spend(alice, [coin], [{ script: bob.script, value: 99_000 }]);
    const tx = parseTx(good);
    // Flip one byte inside the DER signature's s value.
    const sig = tx.inputs[0]!.witness[0]!;
    const at = good.findIndex((_, i) => good.subarray(i, i + sig.length).every((b, j) => b === sig[j]));
    const bad = good.slice();
    bad[at + sig.length - 3]! ^= 0x01;
    throwsCode(() => dn.submitTx(bad), 'BAD_SIGNATURE');
    // Bob signs for alice's coin: his key does not hash to her program.
    const wrong = spend(bob, [coin], [{ script: bob.script, value: 99_000 }]);
    assert.throws(() => dn.submitTx(wrong), (e: Error & { code?: string }) => e.code === 'SCRIPT_FAILED' || e.code === 'BAD_SIGNATURE');
    assert.deepEqual(dn.mempoolTxids(), []);
  } finally {
    dn.close();
  }
});

test('missing inputs, and inputs spent in the mempool or in the chain, are refused', () => {
  const dn = fresh();
  try {
    const coin = fundedCoin(dn);
    throwsCode(() => dn.submitTx(spend(alice, [{ ...coin, txid: 'ab'.repeat(32) }], [{ script: bob.script, value: 1_000 }])), 'MISSING_INPUT');
    throwsCode(() => dn.submitTx(spend(alice, [{ ...coin, vout: 7 }], [{ script: bob.script, value: 1_000 }])), 'MISSING_INPUT');
    dn.submitTx(spend(alice, [coin], [{ script: bob.script, value: 99_000 }]));
    // Same coin, different payee: a mempool double spend.
    throwsCode(() => dn.submitTx(spend(alice, [coin], [{ script: alice.script, value: 98_000 }])), 'INPUT_SPENT');
    dn.mine(1);
    throwsCode(() => dn.submitTx(spend(alice, [coin], [{ script: alice.script, value: 97_000 }])), 'INPUT_SPENT');
  } finally {
    dn.close();
  }
});

test('a coinbase is spendable at 100 confirmations, not at 99', () => {
  const dn = Devnet.open({ path: ':memory:', faucetBlocks: 0 });
  try {
    const [h] = dn.mine(1, alice.script);
    const cbTxid = dn.getBlock(h!)!.txids[0]!;
    const coin = { txid: cbTxid, vout: 0, value: 5_000_000_000 };
    dn.mine(98);
    assert.equal(dn.tip().height, 99);
    const raw = spend(alice, [coin], [{ script: bob.script, value: 4_999_990_000 }]);
    throwsCode(() => dn.submitTx(raw), 'IMMATURE_COINBASE');
    dn.mine(1);
    dn.submitTx(raw);
    assert.equal(dn.mempoolTxids().length, 1);
  } finally {
    dn.close();
  }
});

test('nLockTime by height: refused until the next block height exceeds it', () => {
  const dn = fresh();
  try {
    const coin = fundedCoin(dn);
    const lock = dn.tip().height + 1;
    const raw = spend(alice, [coin], [{ script: bob.script, value: 99_000 }], { lockTime: lock, sequence: 0xfffffffe });
    throwsCode(() => dn.submitTx(raw), 'LOCKTIME_NOT_REACHED');
    dn.mine(1);
    dn.submitTx(raw);
  } finally {
    dn.close();
  }
});

test('nLockTime by time uses median time past, not the clock (BIP113)', () => {
  let now = 1_800_000_000;
  const dn = Devnet.open({ path: ':memory:', faucetBlocks: 101, now: () => now });
  try {
    const coin = fundedCoin(dn);
    const lock = now + 100;
    const raw = spend(alice, [coin], [{ script: bob.script, value: 99_000 }], { lockTime: lock, sequence: 0xfffffffe });
    now = lock + 1000;
    // The clock is past the lock, but the median of the last 11 block times is not.
    throwsCode(() => dn.submitTx(raw), 'LOCKTIME_NOT_REACHED');
    dn.mine(6);
    dn.submitTx(raw);
  } finally {
    dn.close();
  }
});

test('BIP68 relative height lock: refused before coin height + n, accepted at it', () => {
  const dn = fresh();
  try {
    const coin = fundedCoin(dn);
    const raw = spend(alice, [coin], [{ script: bob.script, value: 99_000 }], { sequence: 3 });
    throwsCode(() => dn.submitTx(raw), 'SEQUENCE_LOCK_NOT_REACHED');
    dn.mine(1);
    throwsCode(() => dn.submitTx(raw), 'SEQUENCE_LOCK_NOT_REACHED');
    dn.mine(1);
    dn.submitTx(raw);
    // Version 1 transactions carry no relative lock.
    const coin2 = fundedCoin(dn);
    dn.submitTx(spend(alice, [coin2], [{ script: bob.script, value: 99_000 }], { sequence: 3, version: 1 }));
  } finally {
    dn.close();
  }
});

test('BIP68 relative time lock: measured in median time past from the block before the coin', () => {
  let now = 1_800_000_000;
  const dn = Devnet.open({ path: ':memory:', faucetBlocks: 101, now: () => now });
  try {
    const coin = fundedCoin(dn);
    // 2 x 512 seconds after the coin's confirmation (type flag = bit 22).
    const raw = spend(alice, [coin], [{ script: bob.script, value: 99_000 }], { sequence: 0x00400000 | 2 });
    throwsCode(() => dn.submitTx(raw), 'SEQUENCE_LOCK_NOT_REACHED');
    now += 600;
    dn.mine(6);
    throwsCode(() => dn.submitTx(raw), 'SEQUENCE_LOCK_NOT_REACHED');
    now += 600;
    dn.mine(6);
    dn.submitTx(raw);
  } finally {
    dn.close();
  }
});

test('CLTV in P2WSH: refused before T (non-final or script failure), accepted after', () => {
  const dn = fresh();
  try {
    const T = dn.tip().height + 5;
    const { witnessScript, script } = cltvScript(alice, T);
    const fundTxid = dn.faucet(script, 50_000);
    dn.mine(1);
    const coin = outputTo(dn, fundTxid, script);
    const atT = spendCltv(alice, witnessScript, script, coin, bob.script, 49_000, T);
    throwsCode(() => dn.submitTx(atT), 'LOCKTIME_NOT_REACHED');
    // A final nLockTime below T makes the script itself fail.
    const below = spendCltv(alice, witnessScript, script, coin, bob.script, 49_000, dn.tip().height);
    throwsCode(() => dn.submitTx(below), 'LOCKTIME_NOT_REACHED');
    dn.mine(T - dn.tip().height);
    const txid = dn.submitTx(atT);
    dn.mine(1);
    assert.equal(dn.getTxStatus(txid).confirmed, true);
  } finally {
    dn.close();
  }
});

test('fees below the minimum relay rate, and outputs above inputs, are refused', () => {
  const dn = fresh();
  try {
    const coin = fundedCoin(dn);
    throwsCode(() => dn.submitTx(spend(alice, [coin], [{ script: bob.script, value: 100_000 }])), 'FEE_TOO_LOW');
    const vsize = parseTx(spend(alice, [coin], [{ script: bob.script, value: 90_000 }])).vsize;
    throwsCode(() => dn.submitTx(spend(alice, [coin], [{ script: bob.script, value: 100_000 - vsize + 1 }])), 'FEE_TOO_LOW');
    // btc-signer will not build outputs above inputs, so claim a bigger coin: the value rule
    // runs before the (then failing) signature check.
    throwsCode(() => dn.submitTx(spend(alice, [{ ...coin, value: 200_000 }], [{ script: bob.script, value: 100_001 }])), 'FEE_TOO_LOW');
    dn.submitTx(spend(alice, [coin], [{ script: bob.script, value: 100_000 - vsize }]));
  } finally {
    dn.close();
  }
});

test('malformed bytes and oversize transactions are refused', () => {
  const dn = fresh();
  try {
    throwsCode(() => dn.submitTx(new Uint8Array([1, 2, 3])), 'MALFORMED_TX');
    throwsCode(() => dn.submitTx(new Uint8Array()), 'MALFORMED_TX');
    const coin = fundedCoin(dn);
    const good = spend(alice, [coin], [{ script: bob.script, value: 99_000 }]);
    throwsCode(() => dn.submitTx(good.subarray(0, good.length - 1)), 'MALFORMED_TX');
    // 100 kB of OP_RETURN data: over the 400,000 WU standard limit.
    const huge = new Uint8Array(100_001);
    huge[0] = 0x6a;
    throwsCode(() => dn.submitTx(spend(alice, [coin], [{ script: huge, value: 0 }])), 'TX_TOO_LARGE');
  } finally {
    dn.close();
  }
});

test('a block over 4,000,000 weight units is refused', () => {
  const dn = fresh();
  try {
    const coin = fundedCoin(dn);
    // Eleven ~388,000 WU transactions: each within the tx limit, together over the block limit.
    const body = new Uint8Array(97_000);
    body[0] = 0x6a;
    const raws = Array.from({ length: 11 }, (_, i) => spend(alice, [coin], [{ script: body, value: i }]));
    const before = dn.tip();
    throwsCode(() => dn.submitBlock(handBlock(dn, before.hash, raws, bob.script)), 'BLOCK_TOO_LARGE');
    assert.deepEqual(dn.tip(), before);
  } finally {
    dn.close();
  }
});

test('mining takes txs by fee rate with parents before children', () => {
  const dn = fresh();
  try {
    const c1 = fundedCoin(dn);
    const c2 = fundedCoin(dn);
    const c3 = fundedCoin(dn);
    const low = dn.submitTx(spend(alice, [c1], [{ script: bob.script, value: 100_000 - 300 }]));
    const high = dn.submitTx(spend(alice, [c2], [{ script: bob.script, value: 100_000 - 3_000 }]));
    const parent = dn.submitTx(spend(alice, [c3], [{ script: alice.script, value: 100_000 - 150 }]));
    const pCoin = outputTo(dn, parent, alice.script);
    const child = dn.submitTx(spend(alice, [pCoin], [{ script: bob.script, value: pCoin.value - 10_000 }]));
    const [h] = dn.mine(1);
    const order = dn.getBlock(h!)!.txids.slice(1);
    assert.deepEqual(order, [high, low, parent, child]);
  } finally {
    dn.close();
  }
});

test('a block evicts confirmed txs and mempool txs that conflict with it (with their children)', () => {
  const dn = fresh();
  try {
    const coin = fundedCoin(dn);
    const other = fundedCoin(dn);
    const pending = dn.submitTx(spend(alice, [coin], [{ script: bob.script, value: 99_000 }]));
    const child = dn.submitTx(spend(bob, [outputTo(dn, pending, bob.script)], [{ script: bob.script, value: 98_000 }]));
    const unrelated = dn.submitTx(spend(alice, [other], [{ script: bob.script, value: 99_000 }]));
    const rival = spend(alice, [coin], [{ script: alice.script, value: 90_000 }]);
    dn.submitBlock(handBlock(dn, dn.tip().hash, [rival], bob.script));
    assert.deepEqual(dn.mempoolTxids(), [unrelated]);
    assert.equal(dn.getTx(pending), undefined);
    assert.equal(dn.getTx(child), undefined);
    dn.mine(1);
    assert.deepEqual(dn.mempoolTxids(), []);
  } finally {
    dn.close();
  }
});
