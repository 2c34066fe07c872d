// On-chain cost of the delivery contracts: vsize of funding, claim and refund transactions,
// single and batched, both modes, measured on signed transactions; and contracts funded and
// claimed per second on the embedded devnet.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hex } from '@scure/base';
import { p2wpkh } from '@scure/btc-signer';
import type { Benchmark } from './harness.ts';
import { buildFundingTx } from '../src/contracts/funding.ts';
import type { FundingInput } from '../src/contracts/funding.ts';
import { buildClaimTx } from '../src/contracts/claim.ts';
import { buildRefundTx } from '../src/contracts/refund.ts';
import type { ContractMode, ContractTerms } from '../src/contracts/script.ts';
import { Devnet } from '../src/chain/devnet/devnet.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);
const key = (l: string) => sha256(utf8(`bench key ${l}`));
const pub = (p: Uint8Array) => secp256k1.getPublicKey(p, true);
const RELAY = key('relay');
const PAYER = key('payer');
const WALLET = key('wallet');
const WALLET_SCRIPT = p2wpkh(pub(WALLET)).script;
const AMOUNT = 10_000;

function contracts(mode: ContractMode, n: number, locktime: number, salt = '') {
  return Array.from({ length: n }, (_, i) => {
    const k = sha256(utf8(`k${salt}${i}`));
    const r = sha256(utf8(`r${salt}${i}`));
    const terms: ContractTerms = { mode, hk: sha256(k), relayPubkey: pub(RELAY), payerPubkey: pub(PAYER), locktime };
    if (mode === 'sender-pays') terms.hr = sha256(r);
    return { terms, k, ...(mode === 'sender-pays' ? { r } : {}) };
  });
}

function cycle(mode: ContractMode, n: number, input: FundingInput, locktime: number, salt = '') {
  const cs = contracts(mode, n, locktime, salt);
  const f = buildFundingTx({ inputs: [input], contracts: cs.map((c) => ({ terms: c.terms, amount: AMOUNT })), changeScript: WALLET_SCRIPT, feeRate: 1 });
  const coins = f.contracts.map((o) => ({ outpoint: { txid: f.txid, vout: o.vout }, amount: o.amount, script: o.script }));
  const claim = buildClaimTx({ contracts: coins.map((c, i) => ({ ...c, k: cs[i]!.k, r: cs[i]!.r })), relayPrivkey: RELAY, destScript: WALLET_SCRIPT, feeRate: 1 });
  return { f, coins, claim };
}

export const bench: Benchmark = {
  name: 'contracts',
  description: 'vsize of funding/claim/refund (1, 10, 100 contracts), amortised vB per message, devnet throughput',
  async run(report, log) {
    const fake: FundingInput = { outpoint: { txid: hex.encode(sha256(utf8('coin'))), vout: 0 }, value: 2_000_000, script: WALLET_SCRIPT, privateKey: WALLET };
    for (const mode of ['sender-pays', 'recipient-pays'] as const) {
      for (const n of [1, 10, 100]) {
        const { f, coins, claim } = cycle(mode, n, fake, 900_000);
        const refund = buildRefundTx({ contracts: coins, payerPrivkey: PAYER, destScript: WALLET_SCRIPT, feeRate: 1 });
        report({ metric: `${mode} funding, ${n} contract(s), 1 input + change`, value: f.vsize, unit: 'vB' });
        report({ metric: `${mode} claim, ${n} contract(s)`, value: claim.vsize, unit: 'vB' });
        report({ metric: `${mode} refund, ${n} contract(s)`, value: refund.vsize, unit: 'vB' });
        report({
          metric: `${mode} funding + claim per message at ${n}`,
          value: (f.vsize + claim.vsize) / n,
          unit: 'vB/msg',
          ...(n === 100 ? { goal: '<= 150' } : {}),
        });
      }
    }

    // Devnet: batches of 100 contracts, funded in one tx and claimed in one tx, a block after each.
    const dn = Devnet.open({ path: ':memory:' });
    try {
      const batches = 5;
      const n = 100;
      for (let b = 0; b < batches; b++) dn.faucet(WALLET_SCRIPT, 1_100_000);
      dn.mine(1);
      const utxos = dn.getScriptUtxos(WALLET_SCRIPT);
      const t0 = performance.now();
      for (let b = 0; b < batches; b++) {
        const u = utxos[b]!;
        const mode = b % 2 ? 'recipient-pays' : 'sender-pays';
        const input: FundingInput = { outpoint: { txid: u.txid, vout: u.vout }, value: u.value, script: WALLET_SCRIPT, privateKey: WALLET };
        const { f, claim } = cycle(mode, n, input, dn.tip().height + 100, `b${b}`);
        dn.submitTx(f.tx);
        dn.mine(1);
        dn.submitTx(claim.tx);
        dn.mine(1);
        if (!dn.getTxStatus(claim.txid).confirmed) throw new Error('claim not confirmed');
      }
      const secs = (performance.now() - t0) / 1000;
      report({ metric: 'devnet: contracts funded + claimed (batches of 100, 2 blocks per batch)', value: (batches * n) / secs, unit: 'contracts/s', note: 'build, sign, validate, mine' });
      log(`${batches * n} contracts in ${secs.toFixed(2)} s`);
    } finally {
      dn.close();
    }
  },
};
