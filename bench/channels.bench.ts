// Payment channels: signed states per second (add + settle cycles, both sides, pure), what
// one state costs (payer signature, relay verification, commitment build), and the on-chain
// sizes of commitments, the cooperative close and the payer's exit.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hex } from '@scure/base';
import { p2wpkh } from '@scure/btc-signer';
import type { Benchmark } from './harness.ts';
import { buildExitTx, commitment, cooperativeCloseTx, signDigest, verifyDigest } from '../src/channels/commitment.ts';
import type { ChannelParams, Htlc } from '../src/channels/commitment.ts';
import {
  acceptAdd, acceptSettle, acceptSettleAck, confirmFunding, openChannel, proposeAdd, requestSettle,
} from '../src/channels/state.ts';
import type { ChannelState } from '../src/channels/state.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);
const key = (l: string) => sha256(utf8(`bench key ${l}`));
const pub = (p: Uint8Array) => secp256k1.getPublicKey(p, true);
const RELAY = key('relay');
const PAYER = key('payer');

const params: ChannelParams = {
  payerPubkey: pub(PAYER), relayPubkey: pub(RELAY), channelLocktime: 850_144, claimMargin: 12, feeRate: 2,
  capacity: 100_000_000, fundingOutpoint: { txid: hex.encode(sha256(utf8('bench funding'))), vout: 0 },
};

function htlc(i: number): { terms: Omit<Htlc, 'id'>; k: Uint8Array; r: Uint8Array } {
  const k = sha256(utf8(`k${i}`));
  const r = sha256(utf8(`r${i}`));
  return { terms: { mode: 'sender-pays', hk: sha256(k), hr: sha256(r), amount: 1_000, locktime: 850_000 }, k, r };
}

export const bench: Benchmark = {
  name: 'channels',
  description: 'payment channels: signed states per second and transaction sizes',
  async run(report, log) {
    const cycles = 500;
    let payer: ChannelState = confirmFunding(openChannel(params));
    let relay = payer;
    const t0 = performance.now();
    for (let i = 0; i < cycles; i++) {
      const x = htlc(i);
      const a = proposeAdd(payer, x.terms, { tip: 849_000, payerPrivkey: PAYER });
      relay = acceptAdd(relay, a.message, { tip: 849_000 });
      const s = acceptSettle(a.state, requestSettle(relay, a.message.htlc.id, x.k, x.r), { payerPrivkey: PAYER });
      relay = acceptSettleAck(relay, s.message);
      payer = s.state;
    }
    const secs = (performance.now() - t0) / 1000;
    log(`${cycles} add+settle cycles in ${secs.toFixed(2)} s`);
    report({ metric: 'add+settle cycles (payer and relay, pure)', value: cycles / secs, unit: 'cycles/s', note: '2 signed states per cycle' });
    report({ metric: 'signed states (signed by payer, verified by relay)', value: (2 * cycles) / secs, unit: 'states/s' });

    const n = 300;
    const cm = commitment(params, 10_000, [{ ...htlc(0).terms, id: 0 }]);
    let t = performance.now();
    let sig: Uint8Array = new Uint8Array(64);
    for (let i = 0; i < n; i++) sig = signDigest(PAYER, cm.digest);
    report({ metric: 'payer signature of a commitment', value: (performance.now() - t) / n, unit: 'ms' });
    t = performance.now();
    for (let i = 0; i < n; i++) verifyDigest(sig, cm.digest, params.payerPubkey);
    report({ metric: 'relay verification of a commitment signature', value: (performance.now() - t) / n, unit: 'ms' });
    t = performance.now();
    for (let i = 0; i < n; i++) commitment(params, 10_000 + i, [{ ...htlc(0).terms, id: 0 }]);
    report({ metric: 'commitment build + sighash, 1 HTLC', value: (performance.now() - t) / n, unit: 'ms' });

    for (const count of [0, 1, 10, 100, 483]) {
      const hs = Array.from({ length: count }, (_, i) => ({ ...htlc(i).terms, locktime: 850_000 - i, id: i }));
      const c = commitment(params, 10_000, hs);
      const tx = c.complete(signDigest(PAYER, c.digest), signDigest(RELAY, c.digest));
      report({ metric: `commitment with ${count} HTLC(s) in flight`, value: tx.vsize, unit: 'vB' });
    }
    const close = cooperativeCloseTx(params, 10_000);
    report({ metric: 'cooperative close', value: close.complete(signDigest(PAYER, close.digest), signDigest(RELAY, close.digest)).vsize, unit: 'vB' });
    report({ metric: 'payer exit after T_ch', value: buildExitTx(params, { payerPrivkey: PAYER, destScript: p2wpkh(pub(PAYER)).script, feeRate: 1 }).vsize, unit: 'vB' });
  },
};
