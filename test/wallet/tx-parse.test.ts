import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hex } from '@scure/base';
import { Transaction } from '@scure/btc-signer';
import { Devnet } from '../../src/chain/devnet/devnet.ts';
import { parseTx } from '../../src/wallet/tx-parse.ts';
import { WalletError } from '../../src/wallet/errors.ts';

test('parseTx agrees with a full Transaction decode on txid, outpoints, outputs and vsize', () => {
  const devnet = Devnet.open({ path: ':memory:' });
  try {
    const script = Uint8Array.of(0x00, 0x14, ...new Array<number>(20).fill(5));
    const paid = devnet.faucet(script, 12_345);
    const [block] = devnet.mine(1);
    const coinbaseTxid = devnet.getBlock(block!)!.txids[0]!;
    for (const txid of [paid, coinbaseTxid]) {
      const raw = devnet.getTx(txid)!.raw;
      const p = parseTx(raw);
      const full = Transaction.fromRaw(raw, { allowUnknownOutputs: true, allowUnknownInputs: true, disableScriptCheck: true });
      assert.equal(p.txid, txid);
      assert.equal(p.txid, full.id);
      assert.equal(p.vsize, full.vsize);
      assert.deepEqual(
        p.inputs,
        Array.from({ length: full.inputsLength }, (_, i) => ({ txid: hex.encode(full.getInput(i).txid!), vout: full.getInput(i).index! })),
      );
      assert.deepEqual(
        p.outputs.map((o) => [hex.encode(o.script), o.value]),
        Array.from({ length: full.outputsLength }, (_, i) => [hex.encode(full.getOutput(i).script!), Number(full.getOutput(i).amount!)]),
      );
      assert.equal(p.coinbase, txid === coinbaseTxid);
    }
    assert.ok(parseTx(devnet.getTx(paid)!.raw).outputs.some((o) => o.value === 12_345));
  } finally {
    devnet.close();
  }
});

test('parseTx refuses bytes that are not a transaction', () => {
  assert.throws(() => parseTx(Uint8Array.of(1, 2, 3)), (e) => WalletError.is(e, 'CORRUPT_WALLET'));
});
