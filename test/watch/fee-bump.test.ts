// Claim fee escalation: a fee spike keeps the relay's claim out of blocks while T approaches;
// the relay replaces it (BIP125) at each new block with a higher fee until it confirms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildContractScript, bumpedClaimFeeRate, CLAIM_BUMP_FACTOR, dustThreshold, estimateClaimVsize } from '../../src/contracts/index.ts';
import { contractId } from '../../src/watch/book.ts';
import { DEFAULT_CLAIM_BUMP_BLOCKS } from '../../src/watch/relay.ts';
import { Env, FEE_RATE, POLICY, deal, events } from './helpers.ts';

/** Miners take nothing below this rate (sat/vB) during the spike. */
const SPIKE = 8;

test('a stuck claim is fee-bumped as T approaches and the bumped claim confirms before the refund is valid', { timeout: 120_000 }, async () => {
  const env = new Env();
  try {
    const alice = env.party('alice');
    const bob = env.party('bob');
    await env.fundWallet(alice, 80_000);
    const T = env.devnet.tip().height + 16;
    const d = deal(alice, bob, 'sender-pays', T);
    const script = buildContractScript(d.terms);
    const id = contractId(script);
    await bob.relay.register({ script, amount: 20_000, k: d.k, keyIndex: d.relayKeyIndex });
    await alice.payer.fund([{ terms: d.terms, amount: 20_000, keyIndex: d.payerKeyIndex }]);
    env.devnet.mine(1);
    await env.pollAll(bob);
    bob.relay.provideReceipt(id, d.r!);
    await env.pollAll(bob);
    assert.equal(bob.book.get(id).state, 'claim-broadcast');
    const firstClaim = bob.book.get(id).claimTxid!;
    const firstRate = env.devnet.getTx(firstClaim)!.fee! / (env.devnet.getTx(firstClaim)!.weight / 4);
    assert.ok(firstRate < SPIKE, 'the claim went out at the calm rate');

    // The spike: blocks leave the claim out; the relay looks at each block.
    const windowStart = T - POLICY.claimMargin - DEFAULT_CLAIM_BUMP_BLOCKS;
    while (bob.book.get(id).state !== 'claimed' && env.devnet.tip().height < T) {
      env.devnet.mine(1, undefined, { minFeeRate: SPIKE });
      await env.pollAll(bob);
    }

    const c = bob.book.get(id);
    assert.equal(c.state, 'claimed', 'the claim confirmed');
    const confirmed = env.devnet.getTx(c.claimTxid!)!;
    assert.notEqual(c.claimTxid, firstClaim, 'a replacement confirmed, not the first claim');
    assert.ok(confirmed.status.blockHeight! <= T, `confirmed at ${confirmed.status.blockHeight}, before a refund (nLockTime ${T}) can be mined`);
    assert.ok(confirmed.fee! / (confirmed.weight / 4) >= SPIKE);
    const bumps = bob.book.history(id).filter((e) => e.event === 'claim-bumped');
    assert.ok(bumps.length >= 2, 'bumped step by step');
    assert.ok(bumps.every((e) => e.height! >= windowStart), 'no bump before the escalation window');
    assert.equal(new Set(bumps.map((e) => e.height)).size, bumps.length, 'at most one bump per block');
    assert.deepEqual(events(bob, id).slice(-1), ['claim-confirmed']);
    // At T + 1 Alice's stored refund is final, and can no longer spend the contract.
    env.devnet.mine(T - env.devnet.tip().height);
    assert.throws(() => env.devnet.submitTx(alice.book.get(id).refundRaw!), (e: Error & { code?: string }) => e.code === 'INPUT_SPENT');
  } finally {
    await env.done();
  }
});

test('claim fee bumps step up by a factor, follow the market, and stop where the output would be dust', () => {
  const items = [{ mode: 'sender-pays' as const, scriptLength: 150, amount: 20_000 }];
  const destScript = new Uint8Array(22).fill(1, 2);
  destScript[0] = 0;
  destScript[1] = 20;
  const at = (currentFee: number, marketRate = FEE_RATE) => bumpedClaimFeeRate({ items, destScript, currentFee, marketRate });
  const vsize = estimateClaimVsize(items, destScript.length);
  const r1 = at(2 * vsize)!;
  assert.ok(r1 >= 2 * CLAIM_BUMP_FACTOR && r1 >= 3);
  assert.equal(at(2 * vsize, 40), 40, 'never below the market estimate');
  assert.equal(at(20_000 - dustThreshold(destScript) - 1), undefined, 'no raise once the output is at the dust threshold');
  const cap = Math.floor((20_000 - dustThreshold(destScript)) / estimateClaimVsize(items, destScript.length));
  assert.equal(at(20_000 - 4_000, 1_000), cap, 'a raise is capped where the output stays above dust');
});
