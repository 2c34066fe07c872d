// The chain-wired relay: sender-pays and recipient-pays end to end at the API level against a
// real relay (127.0.0.1:0) on an in-process devnet, with real wallets funding real contracts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findContractSpends, type ContractTerms } from '../../src/contracts/index.ts';
import { PaymentNoticeCodec, type Quote } from '../../src/core/objects/index.ts';
import type { ChainPayments } from '../../src/relay/payments.ts';
import { OP } from '../../src/core/wire/stream.ts';
import {
  OCTET, StreamClient, deposit, depositFor, errorOf, fundContract, getQuote, hexOf, listTags, newIdentity, offer, postDeposit, rnd, testPayer, testRelay,
  type Identity, type TestPayer, type TestRelay,
} from './helpers.ts';

const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
const JSON_HDR = { 'content-type': 'application/json' };

describe('relay payments on the chain', { timeout: 120_000 }, () => {
  let relay: TestRelay;
  let dir: string;
  const payers: TestPayer[] = [];
  before(async () => {
    relay = await testRelay({ maxRetentionSecs: 3600 });
    dir = mkdtempSync(join(tmpdir(), 'satpost-relay-pay-'));
  });
  after(async () => {
    for (const p of payers) p.close();
    await relay.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function payer(name: string): Promise<TestPayer> {
    const p = await testPayer(relay, dir, name);
    payers.push(p);
    return p;
  }
  const fund = fundContract;

  const pass = () => (relay.payments as ChainPayments).pass();
  const unlock = (body: unknown) => fetch(`${relay.url}/v1/unlock`, { method: 'POST', headers: JSON_HDR, body: JSON.stringify(body) });
  const notice = (n: Parameters<typeof PaymentNoticeCodec.encode>[0]) => fetch(`${relay.url}/v1/unlock`, { method: 'POST', headers: OCTET, body: Buffer.from(PaymentNoticeCodec.encode(n)) });
  async function listOf(who: Identity): Promise<Record<string, unknown>[]> {
    const res = await listTags(relay.url, [who.mailbox]);
    assert.equal(res.status, 200);
    return ((await res.json()) as { messages: Record<string, unknown>[] }).messages;
  }
  /** The claim on chain spends the funding and publishes k (and r): read it from the chain, not the relay. */
  function claimOnChain(claimTxid: string, script: Uint8Array): { k: Uint8Array; r?: Uint8Array; confirmed: boolean } {
    const tx = relay.devnet.getTx(claimTxid);
    assert.ok(tx, 'the claim is in the chain or the mempool');
    const [spend] = findContractSpends(tx.raw, [script]);
    assert.equal(spend?.branch, 'claim');
    return { k: spend.k!, ...(spend.r ? { r: spend.r } : {}), confirmed: tx.status.confirmed };
  }

  function senderTerms(q: Quote, hr: Uint8Array, payerPubkey: Uint8Array): ContractTerms {
    return { mode: 'sender-pays', hk: q.hk, hr, relayPubkey: q.contractPubkey, payerPubkey, locktime: q.locktime };
  }

  it('sender-pays: deposit before funding, no k while unconfirmed, then unlock with r and a claim publishing k', async () => {
    const alice = await payer('alice');
    const carol = newIdentity();
    const q = await getQuote(relay.url, offer(carol.mailbox, 300, { mode: 'sender-pays' }));
    const r = rnd(32);
    const receipt = await deposit(relay.url, depositFor(q, rnd(300), { hr: sha(r), payerPubkey: alice.key }));
    const id = hexOf(receipt.messageId);

    let [entry] = await listOf(carol);
    assert.equal(entry!.state, 'funding-pending');
    assert.deepEqual(
      [entry!.amount, entry!.locktime, entry!.hk, entry!.relayContractPubkey, entry!.hr, entry!.payerPubkey, entry!.contractState],
      [q.amount, q.locktime, hexOf(q.hk), hexOf(q.contractPubkey), hexOf(sha(r)), hexOf(alice.key), 'quoted'],
    );
    assert.ok(typeof entry!.receipt === 'string' && (entry!.receipt as string).length > 0);

    const early = await unlock({ id, r: hexOf(r) });
    assert.equal(early.status, 202);
    assert.deepEqual(await early.json(), { state: 'awaiting-confirmation', confirmations: 0, required: 1 });

    const funding = await fund(alice, senderTerms(q, sha(r), alice.key), q.amount);
    const unconfirmed = await unlock({ id, r: hexOf(r) });
    assert.equal(unconfirmed.status, 202, 'k is never released against an unconfirmed funding');
    assert.deepEqual(await unconfirmed.json(), { state: 'awaiting-confirmation', confirmations: 0, required: 1 });
    assert.equal(relay.devnet.mempoolTxids().length, 1, 'no claim was broadcast either');

    relay.devnet.mine(1);
    const open = await unlock({ id, r: hexOf(r) });
    assert.equal(open.status, 200);
    const body = (await open.json()) as { state: string; k: string; claimTxid: string };
    assert.equal(body.state, 'unlocked');
    assert.deepEqual(sha(Buffer.from(body.k, 'hex')), q.hk);
    const claim = claimOnChain(body.claimTxid, funding.script);
    assert.equal(hexOf(claim.k), body.k, 'the claim publishes k');
    assert.deepEqual(claim.r, r, 'and r');

    relay.devnet.mine(1);
    await pass();
    assert.equal(claimOnChain(body.claimTxid, funding.script).confirmed, true);
    [entry] = await listOf(carol);
    assert.deepEqual([entry!.state, entry!.contractState], ['unlocked', 'claimed']);
    assert.deepEqual(entry!.funding, { txid: funding.txid, vout: 0, confirmations: 2 });
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    assert.match(metrics, new RegExp(`^satpost_relay_sats_earned ${q.amount}$`, 'm'));
    assert.match(metrics, /^satpost_relay_claims_pending 0$/m);
  });

  it('sender-pays refusals: wrong r, funding with the wrong amount or unknown, a bad payer key', async () => {
    const alice = await payer('alice2');
    const carol = newIdentity();
    const r = rnd(32);
    const q = await getQuote(relay.url, offer(carol.mailbox, 100, { mode: 'sender-pays' }));
    const short = await fund(alice, senderTerms(q, sha(r), alice.key), q.amount - 1);
    const refused = await errorOf(await postDeposit(relay.url, depositFor(q, rnd(100), { hr: sha(r), payerPubkey: alice.key, funding: { txid: short.txid, vout: 0 } })));
    assert.deepEqual([refused.status, refused.code], [422, 'FUNDING_MISMATCH']);
    const unknown = await errorOf(await postDeposit(relay.url, depositFor(q, rnd(100), { hr: sha(r), payerPubkey: alice.key, funding: { txid: hexOf(rnd(32)), vout: 0 } })));
    assert.deepEqual([unknown.status, unknown.code], [422, 'FUNDING_NOT_FOUND']);
    // x = 0 is on no secp256k1 point (7 is not a square mod p).
    const offCurve = await errorOf(await postDeposit(relay.url, depositFor(q, rnd(100), { hr: sha(r), payerPubkey: new Uint8Array(33).fill(0, 1).fill(2, 0, 1) })));
    assert.deepEqual([offCurve.status, offCurve.code], [400, 'BAD_PUBKEY']);
    const noKey = await errorOf(await postDeposit(relay.url, depositFor(q, rnd(100), { hr: sha(r) })));
    assert.deepEqual([noKey.status, noKey.code], [400, 'BAD_DEPOSIT']);
    assert.equal(relay.store.mailboxUsage(carol.mailbox).count, 0, 'nothing refused was stored');

    const good = await fund(alice, senderTerms(q, sha(r), alice.key), q.amount);
    const receipt = await deposit(relay.url, depositFor(q, rnd(100), { hr: sha(r), payerPubkey: alice.key, funding: { txid: good.txid, vout: 0 } }));
    const wrong = await errorOf(await unlock({ id: hexOf(receipt.messageId), r: hexOf(rnd(32)) }));
    assert.deepEqual([wrong.status, wrong.code], [422, 'PREIMAGE_MISMATCH']);
    const asNotice = await errorOf(await notice({ messageId: receipt.messageId, payerPubkey: alice.key, funding: { txid: good.txid, vout: 0 } }));
    assert.deepEqual([asNotice.status, asNotice.code], [400, 'BAD_REQUEST']);
  });

  it('recipient-pays: PaymentNotice, confirmation, unlock; the claim publishes k', async () => {
    const carolWallet = await payer('carol');
    const carol = newIdentity();
    const q = await getQuote(relay.url, offer(carol.mailbox, 500));
    const receipt = await deposit(relay.url, depositFor(q));
    const id = hexOf(receipt.messageId);
    const [entry] = await listOf(carol);
    assert.deepEqual([entry!.state, entry!.mode], ['stored', 'recipient-pays']);
    // Carol pays from the listing alone: terms the signed quote also carries.
    const terms: ContractTerms = {
      mode: 'recipient-pays', hk: Buffer.from(entry!.hk as string, 'hex'), relayPubkey: Buffer.from(entry!.relayContractPubkey as string, 'hex'),
      payerPubkey: carolWallet.key, locktime: entry!.locktime as number,
    };
    const unknown = await errorOf(await notice({ messageId: rnd(32), payerPubkey: carolWallet.key, funding: { txid: hexOf(rnd(32)), vout: 0 } }));
    assert.deepEqual([unknown.status, unknown.code], [404, 'MESSAGE_UNKNOWN']);
    const funding = await fund(carolWallet, terms, entry!.amount as number);
    const n = { messageId: receipt.messageId, payerPubkey: carolWallet.key, funding: { txid: funding.txid, vout: 0 } };
    const waiting = await notice(n);
    assert.equal(waiting.status, 202);
    assert.deepEqual(await waiting.json(), { state: 'awaiting-confirmation', confirmations: 0, required: 1 });
    const conflict = await errorOf(await notice({ ...n, payerPubkey: (await payer('mallory')).key }));
    assert.deepEqual([conflict.status, conflict.code], [409, 'PAYMENT_CONFLICT']);

    relay.devnet.mine(1);
    const s = await StreamClient.open(relay.url);
    try {
      const a = await s.request(OP.unlock, receipt.messageId);
      assert.equal(a.status, 0, Buffer.from(a.payload).toString());
      const body = JSON.parse(Buffer.from(a.payload).toString()) as { state: string; k: string; claimTxid: string };
      assert.equal(body.state, 'unlocked');
      assert.deepEqual(sha(Buffer.from(body.k, 'hex')), q.hk);
      assert.equal(hexOf(claimOnChain(body.claimTxid, funding.script).k), body.k);
      const again = await unlock({ id });
      assert.equal(again.status, 200);
      assert.equal(((await again.json()) as { k: string }).k, body.k);
    } finally {
      await s.close();
    }
    const [after] = await listOf(carol);
    assert.equal(after!.state, 'unlocked');
    assert.equal(after!.payerPubkey, hexOf(carolWallet.key));
  });
});

describe('relay modes', { timeout: 30_000 }, () => {
  it('offers only the configured modes', async () => {
    const relay = await testRelay({ acceptedModes: ['sender-pays'] });
    try {
      const e = await errorOf(await fetch(`${relay.url}/v1/quote`, { method: 'POST', headers: OCTET, body: Buffer.from((await import('../../src/core/objects/index.ts')).OfferCodec.encode(offer(newIdentity().mailbox, 10))) }));
      assert.deepEqual([e.status, e.code], [422, 'MODE_NOT_ACCEPTED']);
    } finally {
      await relay.close();
    }
  });
});
