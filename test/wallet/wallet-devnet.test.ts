// The wallet against the embedded chain: real blocks, real signatures, real SQLite files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transaction, p2pk, p2wsh, p2wpkh } from '@scure/btc-signer';
import { Devnet } from '../../src/chain/devnet/devnet.ts';
import { DevnetBackend } from '../../src/chain/devnet/backend.ts';
import type { ChainBackend } from '../../src/chain/backend.ts';
import { NETWORKS } from '../../src/core/network.ts';
import { Wallet } from '../../src/wallet/wallet.ts';
import { WalletError } from '../../src/wallet/errors.ts';
import { WalletKeys } from '../../src/wallet/keys.ts';

const light = { log2N: 10, r: 8, p: 1 };
const MNEMONIC = 'legal winner thank year wave sausage worth useful legal winner thank yellow';
const regtest = NETWORKS.regtest;

interface Env {
  devnet: Devnet;
  backend: DevnetBackend;
  dir: string;
  open: (name: string, mnemonic?: string, backend?: ChainBackend) => Wallet;
  done: () => void;
}

function env(): Env {
  const devnet = Devnet.open({ path: ':memory:' });
  const backend = new DevnetBackend(devnet);
  const dir = mkdtempSync(join(tmpdir(), 'satpost-wallet-devnet-'));
  const wallets: Wallet[] = [];
  return {
    devnet,
    backend,
    dir,
    open: (name, mnemonic, other) => {
      const w = Wallet.create({
        db: join(dir, `${name}.db`),
        passphrase: 'pw',
        network: 'regtest',
        mnemonic,
        backend: other ?? backend,
        scrypt: light,
      });
      wallets.push(w);
      return w;
    },
    done: () => {
      for (const w of wallets) w.close();
      devnet.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('fund, sync, confirm, send with change to the change chain, then reopen with the same balance', async () => {
  const e = env();
  try {
    const alice = e.open('alice', MNEMONIC);
    const bob = e.open('bob');
    const a0 = alice.newReceiveAddress();
    const fundTxid = e.devnet.faucet(a0.script, 100_000);

    await alice.sync();
    assert.deepEqual(alice.balance(), { confirmed: 0, unconfirmed: 100_000, immature: 0, reserved: 0, lockedInContracts: 0 });
    assert.equal(alice.history()[0]!.state, 'mempool');

    e.devnet.mine(1);
    await alice.sync();
    assert.equal(alice.balance().confirmed, 100_000);
    assert.equal(alice.balance().unconfirmed, 0);
    const h = alice.history();
    assert.equal(h.length, 1);
    assert.deepEqual([h[0]!.txid, h[0]!.state, h[0]!.net, h[0]!.height], [fundTxid, 'confirmed', 100_000, e.devnet.tip().height]);

    const b0 = bob.newReceiveAddress();
    const sent = await alice.send(b0.address, 30_000, { feeRate: 2 });
    // The chain accepted it (the devnet checks every script) with exactly the fee we computed.
    const onChain = e.devnet.getTx(sent.txid)!;
    assert.equal(onChain.fee, sent.fee);
    assert.ok(sent.fee / sent.vsize >= 2, `fee rate ${sent.fee / sent.vsize}`);
    const tx = Transaction.fromRaw(sent.raw);
    for (let i = 0; i < tx.inputsLength; i++) assert.equal(tx.getInput(i).sequence, 0xfffffffd);
    // Change goes to the first change address m/84'/1'/0'/1/0.
    const change0 = new WalletKeys(MNEMONIC, '', regtest).address(1, 0);
    assert.notEqual(sent.changeVout, null);
    assert.deepEqual(sent.outputs[sent.changeVout!]!.script, change0.script);
    assert.equal(sent.outputs[0]!.amount, 30_000);
    const change = 100_000 - 30_000 - sent.fee;
    assert.deepEqual(alice.balance(), { confirmed: 0, unconfirmed: change, immature: 0, reserved: 0, lockedInContracts: 0 });

    e.devnet.mine(1);
    await alice.sync();
    await bob.sync();
    assert.equal(bob.balance().confirmed, 30_000);
    assert.equal(alice.balance().confirmed, change);
    const own = alice.history().find((x) => x.txid === sent.txid)!;
    assert.deepEqual([own.own, own.state, own.net, own.fee], [true, 'confirmed', -(30_000 + sent.fee), sent.fee]);
    assert.equal(bob.history()[0]!.net, 30_000);

    const before = alice.balance();
    const historyBefore = alice.history();
    alice.close();
    const again = Wallet.open({ db: join(e.dir, 'alice.db'), passphrase: 'pw', backend: e.backend });
    try {
      assert.deepEqual(again.balance(), before);
      await again.sync();
      assert.deepEqual(again.balance(), before);
      assert.deepEqual(again.history(), historyBefore);
      // The next change address is not the one already used.
      const next = await again.createTransaction({ outputs: [{ script: b0.script, amount: 10_000 }], feeRate: 1 });
      assert.deepEqual(next.outputs[next.changeVout!]!.script, new WalletKeys(MNEMONIC, '', regtest).address(1, 1).script);
    } finally {
      again.close();
    }
  } finally {
    e.done();
  }
});

test('refusals on a funded wallet: insufficient funds, dust, foreign address, absurd fee rate', async () => {
  const e = env();
  try {
    const w = e.open('w');
    e.devnet.faucet(w.newReceiveAddress().script, 50_000);
    e.devnet.mine(1);
    await w.sync();
    const dest = e.open('d').newReceiveAddress().address;
    await assert.rejects(
      () => w.send(dest, 60_000, { feeRate: 1 }),
      (err) =>
        WalletError.is(err, 'INSUFFICIENT_FUNDS') && /need 6\d{4} sats/.test((err as Error).message) && /50000 sats spendable/.test((err as Error).message),
    );
    await assert.rejects(() => w.send(dest, 100), (err) => WalletError.is(err, 'DUST_OUTPUT'));
    await assert.rejects(() => w.send('bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu', 10_000), (err) => WalletError.is(err, 'BAD_ADDRESS'));
    await assert.rejects(() => w.send(dest, 10_000, { feeRate: 5_000 }), (err) => WalletError.is(err, 'FEE_RATE_TOO_HIGH'));
    await assert.rejects(() => w.send(dest, 10_000, { feeRate: 0.5 }), (err) => WalletError.is(err, 'BAD_FEE_RATE'));
    // Nothing was spent or reserved by the refused attempts.
    assert.deepEqual(w.balance(), { confirmed: 50_000, unconfirmed: 0, immature: 0, reserved: 0, lockedInContracts: 0 });
    assert.equal(w.pendingTransactions().length, 0);
  } finally {
    e.done();
  }
});

test('gap limit: funds at receive index 15 are found, at 45 only with a larger gap', async () => {
  const e = env();
  try {
    const w = e.open('gap', MNEMONIC);
    e.devnet.faucet(w.receiveAddress(15).script, 11_000);
    e.devnet.faucet(w.receiveAddress(45).script, 22_000);
    e.devnet.mine(1);
    const r1 = await w.sync();
    assert.equal(r1.lastUsed[0], 15);
    assert.equal(w.balance().confirmed, 11_000);
    const r2 = await w.sync({ gapLimit: 40 });
    assert.equal(r2.lastUsed[0], 45);
    assert.equal(w.balance().confirmed, 33_000);
    // Addresses up to the last used one are never handed out again.
    assert.equal(w.newReceiveAddress().index, 46);
    // A restored wallet with the default gap stops at 15 + 20 again: scanning is from the seed, not the file.
    const restored = e.open('gap-restored', MNEMONIC);
    await restored.sync();
    assert.equal(restored.balance().confirmed, 11_000);
  } finally {
    e.done();
  }
});

test('built transactions reserve their coins until broadcast, abandoned or refused by the chain', async () => {
  const e = env();
  try {
    const w = e.open('r');
    e.devnet.faucet(w.newReceiveAddress().script, 40_000);
    e.devnet.mine(1);
    await w.sync();
    const to = e.open('to').newReceiveAddress().script;

    const t1 = await w.createTransaction({ outputs: [{ script: to, amount: 20_000 }], feeRate: 1 });
    assert.equal(e.devnet.getTx(t1.txid), undefined, 'createTransaction must not broadcast');
    assert.deepEqual(w.pendingTransactions().map((p) => p.txid), [t1.txid]);
    assert.equal(w.balance().reserved, 40_000);
    assert.equal(w.balance().confirmed, 0);
    await assert.rejects(() => w.createTransaction({ outputs: [{ script: to, amount: 1_000 }], feeRate: 1 }), (err) =>
      WalletError.is(err, 'INSUFFICIENT_FUNDS'),
    );
    // A sync does not free a coin that a pending transaction still needs.
    await w.sync();
    assert.equal(w.balance().reserved, 40_000);

    w.abandonTransaction(t1.txid);
    assert.equal(w.balance().confirmed, 40_000);
    const t2 = await w.createTransaction({ outputs: [{ script: to, amount: 25_000 }], feeRate: 3 });
    await w.broadcast(t2.txid);
    // t1 spends the same coin as t2: the chain refuses it, the wallet marks it failed.
    await assert.rejects(() => w.broadcast(t1.txid), (err) => WalletError.is(err, 'BROADCAST_FAILED') && (err as Error).cause !== undefined);
    assert.equal(w.history().find((h) => h.txid === t1.txid)!.state, 'failed');
    await assert.rejects(() => w.broadcast('00'.repeat(32)), (err) => WalletError.is(err, 'UNKNOWN_TX'));
    assert.throws(() => w.abandonTransaction(t2.txid), (err) => WalletError.is(err, 'UNKNOWN_TX'));

    e.devnet.mine(1);
    await w.sync();
    assert.deepEqual(w.balance(), { confirmed: 40_000 - 25_000 - t2.fee, unconfirmed: 0, immature: 0, reserved: 0, lockedInContracts: 0 });
    assert.equal(w.history().find((h) => h.txid === t2.txid)!.state, 'confirmed');
  } finally {
    e.done();
  }
});

test('funding a P2WSH contract output: locked in contracts until the contract layer releases it', async () => {
  const e = env();
  try {
    const w = e.open('c');
    e.devnet.faucet(w.newReceiveAddress().script, 80_000);
    e.devnet.mine(1);
    await w.sync();
    const k = w.contractKey(w.nextContractKeyIndex());
    const contract = p2wsh(p2pk(k.pubkey33));
    const funded = await w.createTransaction({ outputs: [{ script: contract.script, amount: 30_000, contractLabel: 'htlc-1' }] });
    assert.equal(funded.outputs[0]!.vout, 0);
    await w.broadcast(funded.txid);
    e.devnet.mine(1);
    await w.sync();
    assert.deepEqual(w.balance(), {
      confirmed: 80_000 - 30_000 - funded.fee,
      unconfirmed: 0,
      immature: 0,
      reserved: 0,
      lockedInContracts: 30_000,
    });
    const onChain = await e.backend.getScriptUtxos(contract.script);
    assert.deepEqual(onChain.map((u) => [u.txid, u.vout, u.value]), [[funded.txid, 0, 30_000]]);
    assert.equal(w.history().find((h) => h.txid === funded.txid)!.net, -(30_000 + funded.fee));
    assert.equal(w.releaseContractOutput(funded.txid, 0), true);
    assert.equal(w.balance().lockedInContracts, 0);
  } finally {
    e.done();
  }
});

test('coinbase outputs are immature for 100 blocks, then spendable', async () => {
  const e = env();
  try {
    const w = e.open('miner');
    const script = w.newReceiveAddress().script;
    e.devnet.mine(1, script);
    await w.sync();
    const b = w.balance();
    assert.ok(b.immature > 0);
    assert.equal(b.confirmed, 0);
    const dest = p2wpkh(new WalletKeys(MNEMONIC, '', regtest).walletKey(0, 0).pubkey33, regtest).address!;
    await assert.rejects(() => w.send(dest, 10_000, { feeRate: 1 }), (err) => WalletError.is(err, 'INSUFFICIENT_FUNDS'));
    e.devnet.mine(99);
    await w.sync();
    assert.deepEqual([w.balance().confirmed, w.balance().immature], [b.immature, 0]);
    const sent = await w.send(dest, 10_000, { feeRate: 1 });
    assert.ok(e.devnet.getTx(sent.txid));
  } finally {
    e.done();
  }
});

test('reorganisations: a payment whose block is invalidated goes back to unconfirmed; a vanished coinbase is dropped', async () => {
  const e = env();
  try {
    const w = e.open('reorg');
    const fund = e.devnet.faucet(w.newReceiveAddress().script, 70_000);
    const [blockA] = e.devnet.mine(1);
    await w.sync();
    assert.equal(w.balance().confirmed, 70_000);

    e.devnet.invalidateBlock(blockA!);
    await w.sync();
    assert.deepEqual([w.balance().confirmed, w.balance().unconfirmed], [0, 70_000]);
    assert.deepEqual([w.history()[0]!.state, w.history()[0]!.height], ['mempool', null]);

    const [blockB] = e.devnet.mine(1, w.newReceiveAddress().script);
    await w.sync();
    assert.equal(w.balance().confirmed, 70_000);
    assert.ok(w.balance().immature > 0);
    const coinbase = w.history().find((h) => h.txid !== fund)!;

    e.devnet.invalidateBlock(blockB!);
    await w.sync();
    assert.equal(w.balance().immature, 0);
    assert.equal(w.history().find((h) => h.txid === coinbase.txid)!.state, 'dropped');
  } finally {
    e.done();
  }
});

test('concurrent spends never pick the same coin', async () => {
  const e = env();
  try {
    const w = e.open('conc');
    e.devnet.faucet(w.newReceiveAddress().script, 30_000);
    e.devnet.mine(1);
    await w.sync();
    const to = e.open('to').newReceiveAddress().script;
    const results = await Promise.allSettled([
      w.createTransaction({ outputs: [{ script: to, amount: 10_000 }] }),
      w.createTransaction({ outputs: [{ script: to, amount: 10_000 }] }),
      w.sync(),
    ]);
    const [a, b] = results;
    assert.equal([a, b].filter((r) => r!.status === 'fulfilled').length, 1);
    const rejected = [a, b].find((r) => r!.status === 'rejected') as PromiseRejectedResult;
    assert.ok(WalletError.is(rejected.reason, 'INSUFFICIENT_FUNDS'));
  } finally {
    e.done();
  }
});

test('a sync running while the wallet broadcasts does not write its older view over the broadcast', async () => {
  const e = env();
  try {
    // The real devnet backend, except that UTXO answers are held back until the test says so:
    // this pins the sync between reading the chain and writing its result.
    let reached!: () => void;
    const atGate = new Promise<void>((r) => (reached = r));
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let armed = false;
    const held = new Proxy(e.backend, {
      get(target, key, receiver) {
        if (key === 'getScriptUtxos') {
          return async (script: Uint8Array, signal?: AbortSignal) => {
            const answer = await target.getScriptUtxos(script, signal);
            if (armed) {
              reached();
              await gate;
            }
            return answer;
          };
        }
        const v = Reflect.get(target, key, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const w = e.open('race', undefined, held);
    e.devnet.faucet(w.newReceiveAddress().script, 60_000);
    e.devnet.mine(1);
    await w.sync();
    const to = e.open('to').newReceiveAddress().address;

    armed = true;
    const syncing = w.sync();
    await atGate;
    const sent = await w.send(to, 20_000, { feeRate: 1 });
    open();
    await syncing;
    assert.deepEqual(w.balance(), { confirmed: 0, unconfirmed: 40_000 - sent.fee, immature: 0, reserved: 0, lockedInContracts: 0 });
    assert.deepEqual(w.utxos().map((u) => u.txid), [sent.txid]);
  } finally {
    e.done();
  }
});

test('syncIfStale scans only when the tip moved or the last sync is too old', async () => {
  const e = env();
  try {
    const w = e.open('fresh');
    const first = await w.syncIfStale();
    assert.ok(first, 'a wallet never synced is stale');
    // Someone else pays the wallet in the mempool: the tip is the same, so the scan is skipped...
    e.devnet.faucet(w.newReceiveAddress().script, 50_000);
    assert.equal(await w.syncIfStale(), undefined);
    assert.equal(w.balance().unconfirmed, 0);
    // ...until a block comes, or the caller asks for a younger view.
    assert.ok(await w.syncIfStale({ maxAgeMs: 0 }));
    assert.equal(w.balance().unconfirmed, 50_000);
    e.devnet.mine(1);
    const afterBlock = await w.syncIfStale();
    assert.ok(afterBlock);
    assert.equal(afterBlock.tip.height, (await e.backend.getTip()).height);
    assert.equal(w.balance().confirmed, 50_000);
  } finally {
    e.done();
  }
});
