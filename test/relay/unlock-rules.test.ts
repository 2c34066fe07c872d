// When k may leave the relay, and what a payment notice may make the relay remember: a real
// relay daemon on 127.0.0.1:0 over an in-process devnet, stopped and started again on the same
// data directory, with real wallets funding real contracts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createHash } from 'node:crypto';
import { buildContractScript, type ContractTerms } from '../../src/contracts/index.ts';
import type { Quote } from '../../src/core/objects/index.ts';
import { NOTICE_BURST } from '../../src/relay/payments.ts';
import { openRelayDataKey, openRelayWallet } from '../../src/relay/wallet.ts';
import { contractId } from '../../src/watch/index.ts';
import { LIGHT_SCRYPT, RelaySite, openRelayFile, deposit, depositFor, errorOf, getQuote, hexOf, newIdentity, offer, postDeposit, rnd } from './helpers.ts';

const silent = pino({ level: 'silent' });
const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

function recipientTerms(q: Quote, payerPubkey: Uint8Array): ContractTerms {
  return { mode: 'recipient-pays', hk: q.hk, relayPubkey: q.contractPubkey, payerPubkey, locktime: q.locktime };
}

test('k is not released after a crash between claim signing and broadcast when the funding was reorged out', { timeout: 120_000 }, async () => {
  const site = new RelaySite();
  try {
    const relay = await site.start();
    const alice = await site.payer('alice');
    const q = await getQuote(relay.url, offer(newIdentity().mailbox, 200, { mode: 'sender-pays' }));
    const r = rnd(32);
    const terms: ContractTerms = { mode: 'sender-pays', hk: q.hk, hr: sha256(r), relayPubkey: q.contractPubkey, payerPubkey: alice.key, locktime: q.locktime };
    const funding = await site.fund(alice.wallet, terms, q.amount);
    const receipt = await deposit(relay.url, depositFor(q, rnd(200), { hr: sha256(r), payerPubkey: alice.key, funding }));
    const id = contractId(buildContractScript(terms));

    // The relay goes down; the funding confirms; a relay process learns r, signs and stores
    // its claim, and dies before broadcasting it.
    await site.stop();
    const [fundBlock] = site.devnet.mine(1);
    const w = openRelayWallet(site.config, { unlock: openRelayDataKey(site.config, { log: silent }), backend: site.backend, scrypt: LIGHT_SCRYPT });
    try {
      const rc = w.relayContracts(site.config);
      await rc.pass(site.devnet.tip());
      assert.equal(rc.book.get(id).state, 'funding-confirmed');
      rc.provideReceipt(id, r);
      const [signed] = await rc.signClaims(site.devnet.tip());
      assert.equal(signed?.state, 'claim-signed');
    } finally {
      w.close();
    }

    // A reorg takes the funding's block away: the funding is back to unconfirmed.
    const parent = site.devnet.getBlock(fundBlock!)!.prev;
    site.devnet.mineOn(parent, 2);
    site.devnet.invalidateBlock(fundBlock!);
    assert.equal(site.devnet.getTxStatus(funding.txid).confirmed, false);

    await site.start();
    const res = await site.unlock({ id: hexOf(receipt.messageId), r: hexOf(r) });
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, 202, `k must not leave the relay: ${JSON.stringify(body)}`);
    assert.deepEqual(body, { state: 'awaiting-confirmation', confirmations: 0, required: 1 });
    assert.deepEqual(site.devnet.mempoolTxids(), [funding.txid], 'no claim was broadcast against the unconfirmed funding');

    // Once the funding confirms again on the best chain, the claim goes out and k with it.
    site.devnet.mine(1);
    const open = await site.unlock({ id: hexOf(receipt.messageId), r: hexOf(r) });
    assert.equal(open.status, 200);
    const unlocked = (await open.json()) as { k: string; claimTxid: string };
    assert.deepEqual(sha256(Buffer.from(unlocked.k, 'hex')), q.hk);
    assert.ok(site.devnet.getTx(unlocked.claimTxid), 'the claim publishing k is in the mempool or the chain');
  } finally {
    await site.close();
  }
});

test('payment notices for unfunded quotes register nothing', { timeout: 120_000 }, async () => {
  const site = new RelaySite();
  try {
    const relay = await site.start();
    const carol = await site.payer('carol');
    const q = await getQuote(relay.url, offer(newIdentity().mailbox, 200));
    const receipt = await deposit(relay.url, depositFor(q));

    // A funding nobody broadcast, then a real transaction paying the wrong amount.
    const ghost = await errorOf(await site.notice({ messageId: receipt.messageId, payerPubkey: carol.key, funding: { txid: hexOf(rnd(32)), vout: 0 } }));
    assert.deepEqual([ghost.status, ghost.code], [422, 'FUNDING_NOT_FOUND']);
    const short = await site.fund(carol.wallet, recipientTerms(q, carol.key), q.amount - 1);
    const wrong = await errorOf(await site.notice({ messageId: receipt.messageId, payerPubkey: carol.key, funding: short }));
    assert.deepEqual([wrong.status, wrong.code], [422, 'FUNDING_MISMATCH']);
    assert.equal(relayContracts(site), 0, 'refused notices registered no contract');
    // Notices for contracts with arbitrary payer keys, each naming someone else's funding.
    const others = [];
    for (let i = 0; i < NOTICE_BURST; i++) {
      const other = carol.wallet.contractKey(carol.wallet.nextContractKeyIndex()).pubkey33;
      others.push(await site.notice({ messageId: receipt.messageId, payerPubkey: other, funding: short }));
    }
    const codes = await Promise.all(others.map(async (r) => (await errorOf(r)).code));
    assert.deepEqual(codes.slice(0, NOTICE_BURST - 2), Array(NOTICE_BURST - 2).fill('FUNDING_MISMATCH'));
    assert.deepEqual(codes.slice(NOTICE_BURST - 2), ['RATE_LIMITED', 'RATE_LIMITED'], 'notices past the burst are refused before any chain lookup');
    // A sender-pays deposit naming a funding nobody broadcast is refused the same way.
    const sq = await getQuote(relay.url, offer(newIdentity().mailbox, 100, { mode: 'sender-pays' }));
    const ghostDeposit = await errorOf(await postDeposit(relay.url, depositFor(sq, rnd(100), { hr: rnd(32), payerPubkey: carol.key, funding: { txid: hexOf(rnd(32)), vout: 0 } })));
    assert.deepEqual([ghostDeposit.status, ghostDeposit.code], [422, 'FUNDING_NOT_FOUND']);
    assert.equal(relayContracts(site), 0, 'no contract was registered, so none is watched');
    assert.equal(relay.store.message(receipt.messageId)?.contractId, undefined, 'the message is bound to no contract');
  } finally {
    await site.close();
  }
});

/** Contracts in the relay's book, read from its party file as another process would. */
function relayContracts(site: RelaySite): number {
  const db = openRelayFile(site.config.dataDir, 'wallet.sqlite', { passphrase: site.config.passphrase, readonly: true });
  try {
    return (db.prepare("SELECT COUNT(*) AS n FROM contracts WHERE role = 'relay'").get() as { n: number }).n;
  } finally {
    db.close();
  }
}
