/**
 * One ChainBackend compliance suite, run against every implementation (LND runs one
 * ChainNotifier suite against each backend the same way). A harness gives the suite a
 * backend plus the chain controls no ChainBackend has (mine, faucet, reorganise).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChainError, type ChainBackend, type ChainTip } from '../../src/chain/backend.ts';
import { corruptSignature, newKey, randomTxid, spend, type Coin, type Key } from './fixtures.ts';

export interface BackendHarness {
  backend: ChainBackend;
  mine(blocks: number): Promise<string[]>;
  mineOn(parent: string, blocks: number): Promise<string[]>;
  invalidate(hash: string): Promise<void>;
  /** Unconfirmed transaction paying `sats` to `script`; resolves its txid. */
  faucet(script: Uint8Array, sats: number): Promise<string>;
  close(): Promise<void>;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Resolves with the first tip reported by onTip that satisfies `want`. */
function tipWhere(backend: ChainBackend, want: (t: ChainTip) => boolean): Promise<ChainTip> {
  return new Promise((resolve) => {
    const off = backend.onTip((t) => {
      if (!want(t)) return;
      off();
      resolve(t);
    });
  });
}

async function rejects(p: Promise<unknown>, code: ChainError['code']): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ChainError, `expected a ChainError, got ${String(err)}`);
    assert.equal(err.code, code, `expected code ${code}, got ${err.code}: ${err.message}`);
    return true;
  });
}

export function runBackendCompliance(name: string, makeHarness: () => Promise<BackendHarness>): void {
  describe(`ChainBackend compliance: ${name}`, { timeout: 60_000 }, () => {
    let h: BackendHarness;
    let b: ChainBackend;
    before(async () => {
      h = await makeHarness();
      b = h.backend;
    });
    after(async () => h.close());

    /** A key holding one confirmed coin of `sats`. */
    async function funded(sats = 100_000): Promise<{ key: Key; coin: Coin }> {
      const key = newKey();
      const txid = await h.faucet(key.script, sats);
      await h.mine(1);
      const utxos = await b.getScriptUtxos(key.script);
      const u = utxos.find((x) => x.txid === txid);
      assert.ok(u, 'faucet output not found among the script utxos');
      return { key, coin: { txid: u.txid, vout: u.vout, value: u.value } };
    }

    it('reports the regtest network and a tip that follows mining', async () => {
      assert.equal(b.network, 'regtest');
      const t0 = await b.getTip();
      assert.ok(Number.isInteger(t0.height) && t0.height >= 0);
      assert.match(t0.hash, HEX64);
      const [hash] = await h.mine(1);
      assert.deepEqual(await b.getTip(), { height: t0.height + 1, hash });
    });

    it('onTip reports a new block and stops after unsubscribe', async () => {
      const t0 = await b.getTip();
      const seen: ChainTip[] = [];
      const off = b.onTip((t) => seen.push(t));
      const next = tipWhere(b, (t) => t.height === t0.height + 1);
      const [hash] = await h.mine(1);
      assert.deepEqual(await next, { height: t0.height + 1, hash });
      off();
      const count = seen.length;
      assert.ok(seen.some((t) => t.hash === hash), 'the first listener saw the block too');
      // A later block reaches a fresh listener but not the unsubscribed one.
      const later = tipWhere(b, (t) => t.height === t0.height + 2);
      await h.mine(1);
      await later;
      assert.equal(seen.length, count);
    });

    it('onTip reports a reorganisation (invalidate, then a longer branch) and txs go back to the mempool', async () => {
      const { key, coin } = await funded();
      const t0 = await b.getTip();
      const tx = spend(key, [coin], [{ script: newKey().script, value: coin.value - 500 }]);
      await b.broadcast(tx.raw);
      const [stale] = await h.mine(1);
      assert.equal((await b.getTxStatus(tx.txid)).blockHash, stale);

      const reorged = tipWhere(b, (t) => t.height === t0.height + 2);
      await h.invalidate(stale!);
      assert.deepEqual(await b.getTip(), t0);
      assert.equal((await b.getTxStatus(tx.txid)).confirmed, false, 'a tx of an invalidated block returns to the mempool');
      const branch = await h.mine(2);
      const tip = await reorged;
      assert.deepEqual(tip, { height: t0.height + 2, hash: branch[1] });
      assert.notEqual(branch[0], stale);
      const status = await b.getTxStatus(tx.txid);
      assert.equal(status.confirmed, true);
      assert.equal(status.blockHash, branch[0]);
      assert.equal(status.blockHeight, t0.height + 1);
    });

    it('onTip reports a switch to a longer competing branch (mine-on)', async () => {
      const t0 = await b.getTip();
      const [a1] = await h.mine(1);
      const switched = tipWhere(b, (t) => t.height === t0.height + 2);
      const branch = await h.mineOn(t0.hash, 2);
      assert.deepEqual(await switched, { height: t0.height + 2, hash: branch[1] });
      assert.notEqual(branch[0], a1);
      assert.deepEqual(await b.getTip(), { height: t0.height + 2, hash: branch[1] });
    });

    it('gives fee estimates as positive sat/vB rates keyed by block target', async () => {
      const fees = await b.getFeeEstimates();
      const keys = Object.keys(fees);
      assert.ok(keys.length > 0);
      for (const k of keys) {
        assert.match(k, /^[1-9][0-9]*$/);
        assert.ok(Number.isFinite(fees[k]) && fees[k]! > 0, `rate for ${k}: ${fees[k]}`);
      }
    });

    it('lists script utxos and history, mempool included, and follows confirmation and spending', async () => {
      const key = newKey();
      assert.deepEqual(await b.getScriptUtxos(key.script), []);
      assert.deepEqual(await b.getScriptHistory(key.script), []);

      const fundTxid = await h.faucet(key.script, 75_000);
      const pending = await b.getScriptUtxos(key.script);
      assert.equal(pending.length, 1);
      assert.equal(pending[0]!.txid, fundTxid);
      assert.equal(pending[0]!.value, 75_000);
      assert.deepEqual(pending[0]!.status, { confirmed: false });
      assert.deepEqual(await b.getScriptHistory(key.script), [{ txid: fundTxid, status: { confirmed: false } }]);

      const [block] = await h.mine(1);
      const tip = await b.getTip();
      const [confirmed] = await b.getScriptUtxos(key.script);
      assert.equal(confirmed!.status.confirmed, true);
      assert.equal(confirmed!.status.blockHash, block);
      assert.equal(confirmed!.status.blockHeight, tip.height);

      const coin = { txid: confirmed!.txid, vout: confirmed!.vout, value: confirmed!.value };
      const tx = spend(key, [coin], [{ script: newKey().script, value: 74_000 }]);
      await b.broadcast(tx.raw);
      assert.deepEqual(await b.getScriptUtxos(key.script), [], 'an output spent in the mempool is no longer a utxo');
      const history = await b.getScriptHistory(key.script);
      assert.deepEqual(new Set(history.map((x) => x.txid)), new Set([fundTxid, tx.txid]));
      assert.equal(history.find((x) => x.txid === tx.txid)!.status.confirmed, false);
    });

    it('returns the raw transaction it was given, and its status goes unconfirmed -> confirmed', async () => {
      const { key, coin } = await funded();
      const tx = spend(key, [coin], [{ script: newKey().script, value: coin.value - 1_000 }]);
      assert.equal(await b.broadcast(tx.raw), tx.txid);
      assert.deepEqual(await b.getTx(tx.txid), tx.raw);
      assert.deepEqual(await b.getTxStatus(tx.txid), { confirmed: false });
      const [block] = await h.mine(1);
      const tip = await b.getTip();
      const status = await b.getTxStatus(tx.txid);
      assert.equal(status.confirmed, true);
      assert.equal(status.blockHash, block);
      assert.equal(status.blockHeight, tip.height);
      assert.ok(Number.isInteger(status.blockTime) && status.blockTime! > 1_231_006_505, `blockTime ${status.blockTime}`);
      assert.deepEqual(await b.getTx(tx.txid), tx.raw);
    });

    it('reports outspends: unspent, spent in the mempool, spent in a block', async () => {
      const { key, coin } = await funded();
      assert.deepEqual(await b.getOutspend(coin.txid, coin.vout), { spent: false });
      const tx = spend(key, [coin], [{ script: newKey().script, value: coin.value - 1_000 }]);
      await b.broadcast(tx.raw);
      assert.deepEqual(await b.getOutspend(coin.txid, coin.vout), { spent: true, txid: tx.txid, vin: 0, status: { confirmed: false } });
      const [block] = await h.mine(1);
      const o = await b.getOutspend(coin.txid, coin.vout);
      assert.equal(o.spent, true);
      assert.equal(o.txid, tx.txid);
      assert.equal(o.status?.confirmed, true);
      assert.equal(o.status?.blockHash, block);
    });

    it('refuses a bad signature with BAD_SIGNATURE', async () => {
      const { key, coin } = await funded();
      const tx = spend(key, [coin], [{ script: newKey().script, value: coin.value - 1_000 }]);
      await rejects(b.broadcast(corruptSignature(tx.raw)), 'BAD_SIGNATURE');
      assert.equal(await b.getTx(tx.txid), undefined);
    });

    it('refuses a spend of an unknown output with MISSING_INPUT', async () => {
      const key = newKey();
      const tx = spend(key, [{ txid: randomTxid(), vout: 0, value: 50_000 }], [{ script: newKey().script, value: 40_000 }]);
      await rejects(b.broadcast(tx.raw), 'MISSING_INPUT');
    });

    it('refuses a transaction paying no fee with FEE_TOO_LOW', async () => {
      const { key, coin } = await funded();
      const tx = spend(key, [coin], [{ script: newKey().script, value: coin.value }]);
      await rejects(b.broadcast(tx.raw), 'FEE_TOO_LOW');
    });

    it('refuses a conflicting spend with INPUT_SPENT and garbage with MALFORMED_TX', async () => {
      const { key, coin } = await funded();
      const first = spend(key, [coin], [{ script: newKey().script, value: coin.value - 1_000 }]);
      await b.broadcast(first.raw);
      const second = spend(key, [coin], [{ script: newKey().script, value: coin.value - 1_000 }]);
      await rejects(b.broadcast(second.raw), 'INPUT_SPENT');
      await rejects(b.broadcast(Uint8Array.of(1, 2, 3)), 'MALFORMED_TX');
    });

    it('answers unknown transactions: getTx undefined, status and outspend NOT_FOUND, bad txid BAD_REQUEST', async () => {
      const unknown = randomTxid();
      assert.equal(await b.getTx(unknown), undefined);
      await rejects(b.getTxStatus(unknown), 'NOT_FOUND');
      await rejects(b.getOutspend(unknown, 0), 'NOT_FOUND');
      const { coin } = await funded();
      await rejects(b.getOutspend(coin.txid, 99), 'NOT_FOUND');
      await rejects(b.getTxStatus('zz'), 'BAD_REQUEST');
    });
  });
}
