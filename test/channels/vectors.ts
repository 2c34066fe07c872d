// Builds the channel vectors (test/vectors/channels.json) from fixed keys, so the test can
// recompute every field and compare. Write the file with:
//   node --import tsx test/channels/vectors.ts > test/vectors/channels.json
import { hex } from '@scure/base';
import { sha256 } from '@noble/hashes/sha2.js';
import { NETWORKS } from '../../src/core/network.ts';
import { commitment, fundingScriptOf, signDigest } from '../../src/channels/commitment.ts';
import type { ChannelParams, Htlc } from '../../src/channels/commitment.ts';
import { fundingAddress, fundingScriptPubKey } from '../../src/channels/script.ts';
import * as h from '../contracts/helpers.ts';

export const VECTOR_PARAMS: ChannelParams = {
  payerPubkey: h.pub(h.PAYER),
  relayPubkey: h.pub(h.RELAY),
  channelLocktime: 850_144,
  claimMargin: 12,
  feeRate: 2,
  capacity: 1_000_000,
  fundingOutpoint: { txid: h.fakeTxid('channel vector funding'), vout: 1 },
};

export const VECTOR_HTLCS: Htlc[] = [
  { id: 0, mode: 'sender-pays', hk: sha256(h.secret('vector k0')), hr: sha256(h.secret('vector r0')), amount: 2_000, locktime: 850_100 },
  { id: 1, mode: 'recipient-pays', hk: sha256(h.secret('vector k1')), amount: 1_500, locktime: 850_050 },
];
export const VECTOR_RELAY_BALANCE = 25_000;

export function buildChannelVectors() {
  const p = VECTOR_PARAMS;
  const fundingScript = fundingScriptOf(p);
  const c = commitment(p, VECTOR_RELAY_BALANCE, VECTOR_HTLCS);
  const payerSig = signDigest(h.PAYER, c.digest);
  const relaySig = signDigest(h.RELAY, c.digest);
  const signed = c.complete(payerSig, relaySig);
  const invalidBase = hex.encode(fundingScript);
  return {
    description: 'satpost payment channels (docs/protocol.md "## Payment channels"). Keys and secrets are sha256("satpost test key <label>") / sha256("satpost test secret <label>"); signatures are RFC 6979 deterministic ECDSA, low-S.',
    funding: {
      payerPubkey: hex.encode(p.payerPubkey),
      relayPubkey: hex.encode(p.relayPubkey),
      channelLocktime: p.channelLocktime,
      script: hex.encode(fundingScript),
      scriptPubKey: hex.encode(fundingScriptPubKey(fundingScript)),
      addressRegtest: fundingAddress(fundingScript, NETWORKS.regtest),
    },
    commitment: {
      description: 'commitment with 2 HTLCs in flight: outputs relay, payer, then HTLCs by (T_i, H(k))',
      fundingTxid: p.fundingOutpoint.txid,
      fundingVout: p.fundingOutpoint.vout,
      capacity: p.capacity,
      feeRate: p.feeRate,
      claimMargin: p.claimMargin,
      relayBalance: VECTOR_RELAY_BALANCE,
      htlcs: VECTOR_HTLCS.map((x) => ({
        id: x.id, mode: x.mode, hk: hex.encode(x.hk), ...(x.hr ? { hr: hex.encode(x.hr) } : {}), amount: x.amount, locktime: x.locktime,
      })),
      outputs: c.layout.outputs.map((o) => ({ kind: o.kind, vout: o.vout, amount: o.amount, scriptPubKey: hex.encode(o.scriptPubKey), ...(o.kind === 'htlc' ? { htlcId: o.htlcId } : {}) })),
      fee: c.layout.fee,
      sighash: hex.encode(c.digest),
      payerSig: hex.encode(payerSig),
      relaySig: hex.encode(relaySig),
      tx: hex.encode(signed.tx),
      txid: signed.txid,
    },
    invalidScripts: [
      { description: 'trailing byte', script: `${invalidBase}00`, code: 'NOT_A_CHANNEL' },
      { description: 'exit key differs from the 2-of-2 payer key', script: invalidBase.replace(/21([0-9a-f]{66})ac68$/, `21${hex.encode(p.relayPubkey)}ac68`), code: 'NOT_A_CHANNEL' },
      { description: 'T_ch pushed non-minimally (4 bytes for a 3-byte number)', script: invalidBase.replace('03e0f80c', '04e0f80c00'), code: 'NOT_A_CHANNEL' },
      { description: '1-of-2 instead of 2-of-2', script: invalidBase.replace(/^6352/, '6351'), code: 'NOT_A_CHANNEL' },
      { description: 'time-based T_ch (500000000)', script: invalidBase.replace('03e0f80c', '040065cd1d'), code: 'NOT_A_CHANNEL' },
      { description: 'CHECKSEQUENCEVERIFY instead of CHECKLOCKTIMEVERIFY', script: invalidBase.replace('03e0f80cb175', '03e0f80cb275'), code: 'NOT_A_CHANNEL' },
    ],
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  console.log(JSON.stringify(buildChannelVectors(), null, 2));
}
