// The embedded chain's throughput: empty blocks mined per second, and blocks of 1,000
// P2WPKH spends (built and signed with btc-signer beforehand, then submitted, then mined;
// each phase timed on its own). Every submit runs bitcore's interpreter on the input.
import { Transaction, p2wpkh } from '@scure/btc-signer';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import type { Benchmark } from './harness.ts';
import { Devnet } from '../src/chain/devnet/devnet.ts';
import { DEVNET_FAUCET_KEY, DEVNET_FAUCET_SCRIPT } from '../src/chain/devnet/faucet.ts';

const TXS_PER_BLOCK = 1_000;
const BLOCKS_WITH_TXS = 2;

export const bench: Benchmark = {
  name: 'devnet',
  description: 'embedded regtest chain: mining, tx validation (bitcore interpreter), SQLite persistence (synchronous NORMAL)',
  async run(report, log) {
    const dn = Devnet.open({ path: ':memory:', faucetBlocks: 0 });
    try {
      // Empty blocks.
      let t = performance.now();
      let n = 0;
      while (performance.now() - t < 3_000) {
        dn.mine(10);
        n += 10;
      }
      report({ metric: 'empty blocks mined', value: (n * 1000) / (performance.now() - t), unit: 'blocks/s', note: 'coinbase only, PoW + SQLite' });

      // Fan out one mature coinbase into enough P2WPKH coins for every spend.
      const priv = sha256(utf8ToBytes('satpost bench key'));
      const script = p2wpkh(secp256k1.getPublicKey(priv, true)).script;
      const coins: { txid: string; vout: number; value: number }[] = [];
      const total = TXS_PER_BLOCK * BLOCKS_WITH_TXS;
      const cb = dn.getScriptUtxos(DEVNET_FAUCET_SCRIPT).filter((u) => u.status.confirmed && dn.tip().height + 1 - u.status.blockHeight! >= 100);
      for (let start = 0, c = 0; start < total; start += 500, c++) {
        const coin = cb[c]!;
        const fan = new Transaction();
        fan.addInput({ txid: coin.txid, index: coin.vout, witnessUtxo: { script: DEVNET_FAUCET_SCRIPT, amount: BigInt(coin.value) } });
        const count = Math.min(500, total - start);
        for (let i = 0; i < count; i++) fan.addOutput({ script, amount: 100_000n });
        fan.sign(DEVNET_FAUCET_KEY);
        fan.finalize();
        const txid = dn.submitTx(fan.extract());
        for (let i = 0; i < count; i++) coins.push({ txid, vout: i, value: 100_000 });
      }
      dn.mine(1);

      t = performance.now();
      const raws = coins.map((c) => {
        const tx = new Transaction();
        tx.addInput({ txid: c.txid, index: c.vout, witnessUtxo: { script, amount: BigInt(c.value) } });
        tx.addOutput({ script, amount: BigInt(c.value - 200) });
        tx.sign(priv);
        tx.finalize();
        return tx.extract();
      });
      const buildMs = performance.now() - t;
      report({ metric: 'P2WPKH spends built + signed (btc-signer)', value: (raws.length * 1000) / buildMs, unit: 'tx/s', note: 'not part of the chain' });

      let submitMs = 0;
      let mineMs = 0;
      for (let b = 0; b < BLOCKS_WITH_TXS; b++) {
        const batch = raws.slice(b * TXS_PER_BLOCK, (b + 1) * TXS_PER_BLOCK);
        t = performance.now();
        for (const raw of batch) dn.submitTx(raw);
        submitMs += performance.now() - t;
        t = performance.now();
        const [h] = dn.mine(1);
        mineMs += performance.now() - t;
        const txs = dn.getBlock(h!)!.txids.length - 1;
        if (txs !== TXS_PER_BLOCK) throw new Error(`block holds ${txs} txs, expected ${TXS_PER_BLOCK}`);
        log(`block ${b + 1}: submit ${(submitMs / (b + 1)).toFixed(0)} ms avg, mine ${(mineMs / (b + 1)).toFixed(0)} ms avg`);
      }
      report({ metric: 'transactions validated into the mempool', value: (total * 1000) / submitMs, unit: 'tx/s', note: '1-in-1-out P2WPKH, bitcore script check + SQLite row' });
      report({ metric: 'mine a block of 1,000 spends', value: mineMs / BLOCKS_WITH_TXS, unit: 'ms/block', note: 'assembly, PoW, connect (scripts cached by wtxid), one SQLite tx' });
      report({
        metric: 'blocks of 1,000 P2WPKH spends, submit + mine',
        value: (BLOCKS_WITH_TXS * 1000) / (submitMs + mineMs),
        unit: 'blocks/s',
      });
    } finally {
      dn.close();
    }
  },
};
