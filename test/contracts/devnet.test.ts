// The contracts against the embedded chain (src/chain/devnet): what the chain accepts
// and refuses, by ChainError code, for every spend path.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Transaction } from '@scure/btc-signer';
import { Devnet } from '../../src/chain/devnet/devnet.ts';
import { ChainError } from '../../src/chain/backend.ts';
import { buildFundingTx } from '../../src/contracts/funding.ts';
import { buildClaimTx } from '../../src/contracts/claim.ts';
import { buildRefundTx } from '../../src/contracts/refund.ts';
import { extractPreimages } from '../../src/contracts/extract.ts';
import type { ContractCoin } from '../../src/contracts/tx.ts';
import * as h from './helpers.ts';

const rejects = (fn: () => unknown, code: string) =>
  assert.throws(fn, (e: unknown) => ChainError.is(e) && e.code === code, `expected ChainError ${code}`);

function foreignSig(raw: Uint8Array, idx: number, coin: ContractCoin, priv: Uint8Array): Uint8Array {
  const tx = Transaction.fromRaw(raw, { allowUnknownInputs: true, allowUnknownOutputs: true });
  const hash = tx.preimageWitnessV0(idx, coin.script, 1, BigInt(coin.amount));
  return Uint8Array.from([...h.secp.sign(hash, priv, { prehash: false, format: 'der' }), 1]);
}

describe('contracts on the devnet', () => {
  let dn: Devnet;
  let T: number;
  const claimable: (ContractCoin & { k: Uint8Array; r?: Uint8Array })[] = [];
  let refundable: ContractCoin;

  before(() => {
    dn = Devnet.open({ path: ':memory:' });
    dn.faucet(h.WALLET_SCRIPT, 3_000_000);
    dn.mine(1);
    const tip = dn.tip().height;
    T = tip + 10;
    const cs = Array.from({ length: 11 }, (_, i) => h.terms(i % 2 ? 'recipient-pays' : 'sender-pays', i, T));
    const utxo = dn.getScriptUtxos(h.WALLET_SCRIPT)[0]!;
    const f = buildFundingTx({
      inputs: [{ outpoint: { txid: utxo.txid, vout: utxo.vout }, value: utxo.value, script: h.WALLET_SCRIPT, privateKey: h.WALLET }],
      contracts: cs.map((c) => ({ terms: c.terms, amount: 20_000 })),
      changeScript: h.WALLET_SCRIPT,
      feeRate: 2,
    });
    assert.equal(dn.submitTx(f.tx), f.txid);
    dn.mine(1);
    assert.equal(dn.getTxStatus(f.txid).confirmed, true);
    f.contracts.forEach((o, i) => {
      const coin = { outpoint: { txid: f.txid, vout: o.vout }, amount: o.amount, script: o.script };
      if (i < 10) claimable.push({ ...coin, k: cs[i]!.k, ...(cs[i]!.r ? { r: cs[i]!.r } : {}) });
      else refundable = coin;
    });
  });
  after(() => dn?.close());

  it('refuses claims with a wrong k, a wrong r or another relay\'s signature', () => {
    const one = claimable.slice(0, 1);
    const good = buildClaimTx({ contracts: one, relayPrivkey: h.RELAY, destScript: h.DEST_SCRIPT, feeRate: 2 }).tx;
    rejects(() => dn.submitTx(h.withWitnessItem(good, 0, 2, h.secret('not k'))), 'SCRIPT_FAILED');
    rejects(() => dn.submitTx(h.withWitnessItem(good, 0, 1, h.secret('not r'))), 'SCRIPT_FAILED');
    rejects(() => dn.submitTx(h.withWitnessItem(good, 0, 0, foreignSig(good, 0, one[0]!, h.OTHER))), 'BAD_SIGNATURE');
  });

  it('refuses a refund before T and accepts it once the tip has reached T', () => {
    const r = buildRefundTx({ contracts: [refundable], payerPrivkey: h.PAYER, destScript: h.WALLET_SCRIPT, feeRate: 2 });
    assert.equal(r.lockTime, T);
    rejects(() => dn.submitTx(r.tx), 'LOCKTIME_NOT_REACHED');
    dn.mine(T - 1 - dn.tip().height);
    assert.equal(dn.tip().height, T - 1);
    rejects(() => dn.submitTx(r.tx), 'LOCKTIME_NOT_REACHED');
    dn.mine(1);
    assert.equal(dn.submitTx(r.tx), r.txid);
    dn.mine(1);
    assert.equal(dn.getTxStatus(r.txid).confirmed, true);
  });

  it('accepts one claim sweeping 10 contracts, and the preimages are read back from the chain', () => {
    const c = buildClaimTx({ contracts: claimable, relayPrivkey: h.RELAY, destScript: h.DEST_SCRIPT, feeRate: 2 });
    assert.equal(dn.submitTx(c.tx), c.txid);
    dn.mine(1);
    const seen = dn.getTx(c.txid)!;
    assert.equal(seen.status.confirmed, true);
    assert.equal(seen.fee, c.fee);
    const got = extractPreimages(seen.raw, claimable.map((x) => x.script));
    assert.equal(got.length, 10);
    got.forEach((g, i) => {
      assert.deepEqual(g.k, claimable[i]!.k);
      assert.deepEqual(g.r, claimable[i]!.r);
    });
    const out = dn.getOutspend(claimable[3]!.outpoint.txid, claimable[3]!.outpoint.vout);
    assert.equal(out.txid, c.txid);
  });
});
