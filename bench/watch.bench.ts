// The contract life cycle at batch scale on the devnet: one fund() of N contracts (rows,
// funding, N signed refunds, all committed with synchronous=FULL, then broadcast), the relay's
// pass that signs and broadcasts one claim for all N, the payer's pass that learns N keys,
// and an idle pass over N contracts that wait (the cost of watching).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import type { Benchmark } from './harness.ts';
import { Devnet } from '../src/chain/devnet/devnet.ts';
import { DevnetBackend } from '../src/chain/devnet/backend.ts';
import { buildContractScript, type ContractTerms } from '../src/contracts/index.ts';
import { Wallet } from '../src/wallet/index.ts';
import { ContractBook, ContractWatcher, PayerContracts, RelayContracts, openPartyDb } from '../src/watch/index.ts';

const N = 100;

export const bench: Benchmark = {
  name: 'watch',
  description: `contract life cycle, ${N} contracts per batch, devnet in process, party files synchronous=FULL`,
  async run(report, log) {
    const dir = mkdtempSync(join(tmpdir(), 'satpost-bench-watch-'));
    const dn = Devnet.open({ path: ':memory:' });
    const backend = new DevnetBackend(dn);
    const open = (name: string) => {
      const db = openPartyDb(join(dir, `${name}.sqlite`));
      const wallet = Wallet.create({ db, passphrase: 'pw', network: 'regtest', backend, scrypt: { log2N: 10, r: 8, p: 1 } });
      const book = new ContractBook(db);
      return { db, wallet, book };
    };
    const a = open('alice');
    const b = open('bob');
    try {
      const payer = new PayerContracts({ book: a.book, wallet: a.wallet, backend, feeRate: 2 });
      const relay = new RelayContracts({ book: b.book, wallet: b.wallet, backend, feeRate: 2, minConfirmations: 1, claimMargin: 3 });
      const aw = new ContractWatcher({ backend, payer });
      const bw = new ContractWatcher({ backend, relay });
      dn.faucet(a.wallet.newReceiveAddress().script, 10_000_000);
      dn.mine(1);
      await a.wallet.sync();
      const T = dn.tip().height + 100;
      const deals = Array.from({ length: N }, () => {
        const k = new Uint8Array(randomBytes(32));
        const r = new Uint8Array(randomBytes(32));
        const pi = a.wallet.nextContractKeyIndex();
        const ri = b.wallet.nextContractKeyIndex();
        const terms: ContractTerms = { mode: 'sender-pays', hk: sha256(k), hr: sha256(r), relayPubkey: b.wallet.contractKey(ri).pubkey33, payerPubkey: a.wallet.contractKey(pi).pubkey33, locktime: T };
        return { k, r, pi, ri, terms };
      });
      let t = performance.now();
      for (const d of deals) await relay.register({ script: buildContractScript(d.terms), amount: 5_000, k: d.k, keyIndex: d.ri });
      report({ metric: 'relay register (persist quoted)', value: (performance.now() - t) / N, unit: 'ms/contract' });

      t = performance.now();
      const funded = await payer.fund(deals.map((d) => ({ terms: d.terms, amount: 5_000, keyIndex: d.pi })));
      report({ metric: `fund() of ${N}: rows + funding + refunds + broadcast`, value: (performance.now() - t) / N, unit: 'ms/contract' });
      dn.mine(1);
      funded.forEach((c, i) => relay.provideReceipt(c.id, deals[i]!.r));

      t = performance.now();
      await aw.poll();
      report({ metric: `payer pass, ${N} funding confirmations`, value: (performance.now() - t) / N, unit: 'ms/contract' });
      t = performance.now();
      await bw.poll();
      report({ metric: `relay pass: confirm + one claim of ${N} + broadcast`, value: (performance.now() - t) / N, unit: 'ms/contract' });
      const claim = dn.getTx(b.book.list('relay')[0]!.claimTxid!)!;
      report({ metric: `claim tx of ${N} sender-pays contracts`, value: claim.weight / 4, unit: 'vB', note: `${(claim.weight / 4 / N).toFixed(1)} vB per contract` });

      t = performance.now();
      await aw.poll();
      report({ metric: 'idle payer pass (claim in mempool, k learned)', value: (performance.now() - t) / N, unit: 'ms/contract' });
      dn.mine(1);
      t = performance.now();
      await aw.poll();
      await bw.poll();
      report({ metric: 'both passes after the claim confirms (claimed)', value: (performance.now() - t) / N, unit: 'ms/contract' });
      log(`states: payer ${[...new Set(a.book.list('payer').map((c) => c.state))].join(',')}, relay ${[...new Set(b.book.list('relay').map((c) => c.state))].join(',')}`);
    } finally {
      a.wallet.close();
      b.wallet.close();
      a.db.close();
      b.db.close();
      dn.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
