import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hexToBytes } from '@noble/hashes/utils.js';
import {
  REGTEST_GENESIS_HASH,
  bip34HeightPush,
  bitsToTarget,
  checkProofOfWork,
  decodeBlock,
  decodeHeader,
  encodeHeader,
  merkleMutated,
  merkleRoot,
  regtestGenesis,
  solve,
} from '../../src/chain/devnet/block.ts';
import { blockSubsidy, checkTransaction } from '../../src/chain/devnet/consensus.ts';
import { isFinalTx, sequenceLocks, sequenceLocksSatisfied } from '../../src/chain/devnet/locks.ts';
import { buildTx, parseTx } from '../../src/chain/devnet/tx.ts';
import { ChainError } from '../../src/chain/backend.ts';
import { throwsCode } from './helpers.ts';

test('genesis is byte for byte Bitcoin regtest genesis', () => {
  const g = regtestGenesis();
  assert.equal(g.hash, REGTEST_GENESIS_HASH);
  assert.equal(g.hash, '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206');
  assert.equal(g.block.header.merkleRoot, '4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b');
  assert.equal(g.raw.length, 285);
  assert.ok(checkProofOfWork(g.header, g.block.header.bits));
});

test('headers round-trip and proof of work is checked against the target', () => {
  const h = { version: 0x20000000, prev: REGTEST_GENESIS_HASH, merkleRoot: 'ab'.repeat(32), time: 1_700_000_000, bits: 0x207fffff, nonce: 0 };
  const solved = solve(h);
  assert.deepEqual(decodeHeader(solved.bytes), solved.header);
  assert.deepEqual(decodeHeader(encodeHeader(solved.header)), solved.header);
  assert.ok(checkProofOfWork(solved.bytes, 0x207fffff));
  // A real mainnet-difficulty target is not met by a regtest nonce search.
  assert.ok(!checkProofOfWork(solved.bytes, 0x1d00ffff));
  assert.equal(bitsToTarget(0x1d00ffff), 0xffffn << 208n);
  throwsCode(() => decodeHeader(new Uint8Array(79)), 'BAD_BLOCK');
});

test('merkle root of Bitcoin block 100000 (four txids) and duplicate detection', () => {
  const txids = [
    '8c14f0db3df150123e6f3dbbf30f8b955a8249b62ac1d1ff16284aefa3d06d87',
    'fff2525b8931402dd09222c50775608f75787bd2b87e56995a7bdd30f79702c4',
    '6359f0868171b1d194cbee1af2f16ea598ae8fad666d9b012c8ed2b79a236ec4',
    'e9a66845e05d5abc0ad04ec80f774a7e585c6e8db975962d069a522137b80c1d',
  ];
  assert.equal(merkleRoot(txids), 'f3e94742aca4b5ef85488dc37c06c3282295ffec960994b2c0d5ac2a25a95766');
  assert.ok(!merkleMutated(txids));
  assert.ok(merkleMutated([txids[0]!, txids[1]!, txids[2]!, txids[2]!]));
});

test('BIP34 height pushes match Core for small and large heights', () => {
  assert.deepEqual([...bip34HeightPush(1)], [0x51]);
  assert.deepEqual([...bip34HeightPush(16)], [0x60]);
  assert.deepEqual([...bip34HeightPush(17)], [0x01, 0x11]);
  assert.deepEqual([...bip34HeightPush(128)], [0x02, 0x80, 0x00]);
  assert.deepEqual([...bip34HeightPush(500_000)], [0x03, 0x20, 0xa1, 0x07]);
});

test('regtest subsidy halves every 150 blocks', () => {
  assert.equal(blockSubsidy(0), 5_000_000_000);
  assert.equal(blockSubsidy(149), 5_000_000_000);
  assert.equal(blockSubsidy(150), 2_500_000_000);
  assert.equal(blockSubsidy(300), 1_250_000_000);
  assert.equal(blockSubsidy(150 * 64), 0);
});

test('decodeBlock rejects trailing bytes and truncation', () => {
  const g = regtestGenesis();
  assert.equal(decodeBlock(g.raw).txs[0]!.txid, '4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b');
  throwsCode(() => decodeBlock(new Uint8Array([...g.raw, 0])), 'BAD_BLOCK');
  assert.throws(() => decodeBlock(g.raw.subarray(0, 200)), ChainError);
});

const someTxid = '11'.repeat(32);
const tx = (inputs: { txid: string; vout: number; scriptSig?: Uint8Array; sequence?: number }[], values: number[], lockTime = 0, version = 2) =>
  buildTx({
    version,
    inputs: inputs.map((i) => ({ txid: i.txid, vout: i.vout, scriptSig: i.scriptSig ?? new Uint8Array(), sequence: i.sequence ?? 0xffffffff })),
    outputs: values.map((value) => ({ value, script: new Uint8Array([0x51]) })),
    lockTime,
  });

test('context-free rules: empty ins/outs, duplicate inputs, amounts, coinbase script size', () => {
  checkTransaction(tx([{ txid: someTxid, vout: 0 }], [1]));
  throwsCode(() => checkTransaction(tx([{ txid: someTxid, vout: 0 }], [])), 'MALFORMED_TX');
  throwsCode(() => checkTransaction(tx([{ txid: someTxid, vout: 0 }, { txid: someTxid, vout: 0 }], [1])), 'MALFORMED_TX');
  throwsCode(() => checkTransaction(tx([{ txid: someTxid, vout: 0 }], [21e14, 1])), 'MALFORMED_TX');
  throwsCode(() => checkTransaction(tx([{ txid: '00'.repeat(32), vout: 0xffffffff, scriptSig: new Uint8Array(1) }], [1])), 'MALFORMED_TX');
  throwsCode(() => checkTransaction(tx([{ txid: '00'.repeat(32), vout: 0xffffffff, scriptSig: new Uint8Array(101) }], [1])), 'MALFORMED_TX');
  checkTransaction(tx([{ txid: '00'.repeat(32), vout: 0xffffffff, scriptSig: new Uint8Array(2) }], [1]));
  // A null prevout in a transaction with other inputs is not a coinbase.
  throwsCode(() => checkTransaction(tx([{ txid: someTxid, vout: 0 }, { txid: '00'.repeat(32), vout: 0xffffffff }], [1])), 'MALFORMED_TX');
  // Amounts above MAX_MONEY are refused already at parse time; so are garbage and trailing bytes.
  const big = tx([{ txid: someTxid, vout: 0 }], [1]).raw.slice();
  const amountAt = 4 + 1 + 36 + 1 + 4 + 1;
  big.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], amountAt);
  throwsCode(() => parseTx(big), 'MALFORMED_TX');
  throwsCode(() => parseTx(hexToBytes('0200000000')), 'MALFORMED_TX');
  throwsCode(() => parseTx(new Uint8Array([...tx([{ txid: someTxid, vout: 0 }], [1]).raw, 0])), 'MALFORMED_TX');
});

test('nLockTime finality by height and by median time past (BIP113)', () => {
  assert.ok(isFinalTx(tx([{ txid: someTxid, vout: 0, sequence: 0 }], [1], 0), 1, 0));
  const byHeight = tx([{ txid: someTxid, vout: 0, sequence: 0xfffffffe }], [1], 100);
  assert.ok(!isFinalTx(byHeight, 100, 0));
  assert.ok(isFinalTx(byHeight, 101, 0));
  const byTime = tx([{ txid: someTxid, vout: 0, sequence: 0xfffffffe }], [1], 1_700_000_000);
  assert.ok(!isFinalTx(byTime, 10, 1_700_000_000));
  assert.ok(isFinalTx(byTime, 10, 1_700_000_001));
  // All-final sequences disable the lock.
  assert.ok(isFinalTx(tx([{ txid: someTxid, vout: 0 }], [1], 100), 1, 0));
});

test('BIP68 relative locks by height and time; version 1 and the disable flag opt out', () => {
  const h = tx([{ txid: someTxid, vout: 0, sequence: 3 }], [1]);
  const locks = sequenceLocks(h, [50], () => 0);
  assert.deepEqual(locks, { minHeight: 52, minTime: -1 });
  assert.ok(!sequenceLocksSatisfied(locks, 52, 0));
  assert.ok(sequenceLocksSatisfied(locks, 53, 0));
  const t = tx([{ txid: someTxid, vout: 0, sequence: 0x00400000 | 2 }], [1]);
  const tl = sequenceLocks(t, [50], (height) => (height === 49 ? 1000 : -1));
  assert.deepEqual(tl, { minHeight: -1, minTime: 1000 + 2 * 512 - 1 });
  assert.ok(!sequenceLocksSatisfied(tl, 60, 2023));
  assert.ok(sequenceLocksSatisfied(tl, 60, 2024));
  assert.deepEqual(sequenceLocks(tx([{ txid: someTxid, vout: 0, sequence: 3 }], [1], 0, 1), [50], () => 0), { minHeight: -1, minTime: -1 });
  assert.deepEqual(sequenceLocks(tx([{ txid: someTxid, vout: 0, sequence: 0x80000003 }], [1]), [50], () => 0), { minHeight: -1, minTime: -1 });
});
