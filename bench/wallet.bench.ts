// Wallet costs: coin selection over many coins, PSBT signing, and a full sync on the devnet.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Benchmark, opsPerSecond } from './harness.ts';
import { Devnet } from '../src/chain/devnet/devnet.ts';
import { DevnetBackend } from '../src/chain/devnet/backend.ts';
import { NETWORKS } from '../src/core/network.ts';
import { selectCoins } from '../src/wallet/coin-select.ts';
import { WalletKeys } from '../src/wallet/keys.ts';
import { buildSignedTx } from '../src/wallet/spend.ts';
import { Wallet } from '../src/wallet/wallet.ts';

const MNEMONIC = 'legal winner thank year wave sausage worth useful legal winner thank yellow';

export const bench: Benchmark = {
  name: 'wallet',
  description: 'coin selection, P2WPKH PSBT signing, devnet sync',
  async run(report, log) {
    const keys = new WalletKeys(MNEMONIC, '', NETWORKS.regtest);
    const dest = keys.address(0, 999).script;

    // Awkward values so branch-and-bound rarely finds an exact match and runs its full budget.
    const coins = Array.from({ length: 1000 }, (_, i) => ({ txid: i.toString(16).padStart(64, '0'), vout: 0, value: 10_000 + ((i * 7919) % 90_001) }));
    const sel = await opsPerSecond(() => selectCoins({ coins, outputs: [{ script: dest, amount: 1_234_567 }], feeRate: 3 }), 2000);
    report({ metric: 'coin selection, 1000 coins', value: sel, unit: 'selections/s' });

    const inputs = [0, 1].map((i) => ({ txid: (i + 1).toString(16).padStart(64, '0'), vout: 0, value: 50_000, script: keys.address(0, i).script, key: keys.walletKey(0, i) }));
    const outputs = [{ script: dest, amount: 60_000 }, { script: keys.address(1, 0).script, amount: 39_000 }];
    const sign = await opsPerSecond(() => buildSignedTx({ inputs, outputs, lockTime: 0, masterFingerprint: keys.masterFingerprint }), 2000);
    report({ metric: 'build + sign 2-in 2-out PSBT', value: sign, unit: 'tx/s' });

    const dir = mkdtempSync(join(tmpdir(), 'satpost-bench-wallet-'));
    const devnet = Devnet.open({ path: ':memory:' });
    try {
      const backend = new DevnetBackend(devnet);
      const w = Wallet.create({ db: join(dir, 'w.db'), passphrase: 'pw', network: 'regtest', mnemonic: MNEMONIC, backend, scrypt: { log2N: 10, r: 8, p: 1 } });
      for (let i = 0; i < 50; i++) devnet.faucet(w.receiveAddress(i).script, 10_000 + i);
      devnet.mine(1);
      let t0 = performance.now();
      const r = await w.sync();
      const first = performance.now() - t0;
      report({ metric: 'first sync, 50 used addresses', value: first, unit: 'ms', note: `${r.scanned} addresses, ${r.newTxs} txs` });
      t0 = performance.now();
      await w.sync();
      report({ metric: 'repeat sync, nothing new', value: performance.now() - t0, unit: 'ms' });
      t0 = performance.now();
      const n = 20;
      for (let i = 0; i < n; i++) {
        const tx = await w.createTransaction({ outputs: [{ script: dest, amount: 5_000 }], feeRate: 2 });
        await w.broadcast(tx.txid);
      }
      report({ metric: 'createTransaction + broadcast (durable)', value: (n * 1000) / (performance.now() - t0), unit: 'tx/s' });
      log(`balance after: ${JSON.stringify(w.balance())}`);
      w.close();
    } finally {
      devnet.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
