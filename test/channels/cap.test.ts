// The in-flight cap: why 483, and that a unilateral close at the cap (commitment and one
// claim of every output, the largest scripts a channel can hold) is standard on the devnet.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Devnet } from '../../src/chain/devnet/devnet.ts';
import { commitment, fundingScriptOf, signDigest } from '../../src/channels/commitment.ts';
import type { Htlc } from '../../src/channels/commitment.ts';
import { fundingScriptPubKey } from '../../src/channels/script.ts';
import { confirmFunding, openChannel } from '../../src/channels/state.ts';
import type { ChannelState } from '../../src/channels/state.ts';
import { unilateralClose } from '../../src/channels/close.ts';
import {
  claimAllWeightBound, commitmentWeightBound, largestStandardInFlight, LIGHTNING_MAX_HTLCS, MAX_IN_FLIGHT, STANDARD_TX_WEIGHT,
} from '../../src/channels/size.ts';
import * as c from './helpers.ts';

const { h } = c;

describe('in-flight cap', () => {
  let dn: Devnet | undefined;
  after(() => dn?.close());

  it('is Lightning\'s 483, below the 859 at which one claim of every output would pass 400,000 WU', () => {
    const n = largestStandardInFlight();
    assert.equal(n, 859);
    assert.ok(claimAllWeightBound(n) <= STANDARD_TX_WEIGHT && claimAllWeightBound(n + 1) > STANDARD_TX_WEIGHT);
    assert.ok(commitmentWeightBound(n) <= STANDARD_TX_WEIGHT);
    assert.equal(MAX_IN_FLIGHT, LIGHTNING_MAX_HTLCS);
    assert.ok(MAX_IN_FLIGHT <= n);
  });

  it('a unilateral close with 483 sender-pays outputs of the largest size is accepted by the devnet', () => {
    dn = Devnet.open({ path: ':memory:' });
    const T_ch = 499_999_999; // 5-byte pushes: the largest scripts
    const probe = c.params({ channelLocktime: T_ch, claimMargin: 12, feeRate: 1, capacity: 2_000_000 });
    const spk = fundingScriptPubKey(fundingScriptOf(probe));
    const txid = dn.faucet(spk, probe.capacity);
    const vout = dn.getScriptUtxos(spk).find((u) => u.txid === txid)!.vout;
    dn.mine(1);
    const base = confirmFunding(openChannel({ ...probe, fundingOutpoint: { txid, vout } }));
    const xs = Array.from({ length: MAX_IN_FLIGHT }, (_, i) => c.htlcFor(5_000 + i, 'sender-pays', 499_999_000 - i, 1_000));
    const inFlight: Htlc[] = xs.map((x, i) => ({ ...x.terms, id: i }));
    const cm = commitment(base, 0, inFlight);
    const s: ChannelState = { ...base, n: 1, inFlight, nextHtlcId: inFlight.length, payerSig: signDigest(h.PAYER, cm.digest) };
    const u = unilateralClose(s, {
      relayPrivkey: h.RELAY, destScript: h.DEST_SCRIPT, feeRate: 1,
      preimages: xs.map((x, i) => ({ htlcId: i, k: x.k, r: x.r })),
    });
    assert.equal(u.claimed.length, MAX_IN_FLIGHT);
    assert.equal(dn.submitTx(u.commitment.tx), u.commitment.txid);
    const cWeight = dn.getTx(u.commitment.txid)!.weight;
    dn.mine(1);
    assert.equal(dn.submitTx(u.claim!.tx), u.claim!.txid);
    const claimWeight = dn.getTx(u.claim!.txid)!.weight;
    dn.mine(1);
    assert.equal(dn.getTxStatus(u.claim!.txid).confirmed, true);
    assert.ok(cWeight <= commitmentWeightBound(MAX_IN_FLIGHT), `commitment ${cWeight} WU within its bound`);
    assert.ok(claimWeight <= claimAllWeightBound(MAX_IN_FLIGHT), `claim ${claimWeight} WU within its bound`);
    assert.ok(claimWeight > 0.95 * claimAllWeightBound(MAX_IN_FLIGHT), 'the bound is tight, not a wild overestimate');
    assert.ok(claimWeight < STANDARD_TX_WEIGHT);
  });
});
