// Bob, the demo's in-process relay, refusing what the protocol says he must refuse (typed codes),
// on a real in-process devnet with real wallets.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Devnet } from '../../src/chain/devnet/devnet.ts';
import { DevnetBackend } from '../../src/chain/devnet/backend.ts';
import { buildContractScript, contractScriptPubKey } from '../../src/contracts/index.ts';
import { H } from '../../src/core/hash.ts';
import {
  DepositCodec, MailboxAuthCodec, OfferCodec, QuoteCodec, ReceiptCodec, mailboxAuthBytes, verifyReceipt, type PaymentMode, type Quote,
} from '../../src/core/objects/index.ts';
import { nodeAead } from '../../src/crypto/aead-node.ts';
import { nodeEd25519 } from '../../src/crypto/ed25519-node.ts';
import { openIdentityDb } from '../../src/identity/db.ts';
import { createIdentity } from '../../src/identity/identity.ts';
import { DEVNET_RELAY_POLICY, DemoRelay } from '../../src/demo/bob.ts';
import { readClaimFromChain } from '../../src/demo/chain.ts';
import { DemoError } from '../../src/demo/errors.ts';
import { createWallet } from '../../src/demo/people.ts';

const light = { log2N: 10, r: 8, p: 1 };
const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const dir = mkdtempSync(join(tmpdir(), 'satpost-demo-bob-'));
const devnet = Devnet.open({ path: ':memory:' });
const backend = new DevnetBackend(devnet);
const bobWallet = createWallet({ dir: join(dir, 'bob'), name: 'Bob', backend, scrypt: light });
const payer = createWallet({ dir: join(dir, 'payer'), name: 'Payer', backend, scrypt: light });
const idDb = openIdentityDb(join(dir, 'carol-identity.sqlite'));
const carol = createIdentity(idDb, 'pw', { scrypt: light });
const ed = nodeEd25519();
const policy = { ...DEVNET_RELAY_POLICY, lockBlocks: 10, claimMargin: 3, fetchMargin: 4 };
const bob = new DemoRelay({ wallet: bobWallet, backend, url: 'http://bob.test/', nodeSecret: rnd(32), ed, aead: nodeAead, random: rnd, now: Date.now, policy });
after(() => {
  bobWallet.close();
  payer.close();
  idDb.close();
  devnet.close();
  rmSync(dir, { recursive: true, force: true });
});

const rejects = (p: Promise<unknown>, code: string) => assert.rejects(p, (e: unknown) => DemoError.is(e, code as never) || assert.fail(`expected DemoError ${code}, got ${String(e)}`));

async function quote(mode: PaymentMode, size = 4096): Promise<Quote> {
  const offer = { offerId: rnd(16), mailbox: carol.mailbox, mode, size, maxFee: 10_000, retentionSecs: 86_400, createdAt: Date.now() };
  return QuoteCodec.decode(await bob.quote(OfferCodec.encode(offer)));
}

/** Funds a sender-pays contract of `q` with `amount` sats (not mined). */
async function fund(q: Quote, r: Uint8Array, amount: number) {
  const payerPubkey = payer.contractKey(payer.nextContractKeyIndex()).pubkey33;
  const script = buildContractScript({ mode: 'sender-pays', hk: q.hk, hr: H(r), relayPubkey: q.contractPubkey, payerPubkey, locktime: q.locktime });
  const tx = await payer.createTransaction({ outputs: [{ script: contractScriptPubKey(script), amount }], feeRate: 1 });
  await payer.broadcast(tx.txid);
  return { payerPubkey, script, outpoint: { txid: tx.txid, vout: 0 } };
}

const deposit = (q: Quote, body: Uint8Array, extra: { hr?: Uint8Array; funding?: { txid: string; vout: number } } = {}) =>
  DepositCodec.encode({ quoteId: q.quoteId, mailbox: q.mailbox, sealedHeader: rnd(100), body, hr: extra.hr, funding: extra.funding });

test('setup: the payer has confirmed coins', async () => {
  devnet.faucet(payer.newReceiveAddress().script, 50_000);
  devnet.mine(1);
  await payer.sync();
  assert.equal(payer.balance().confirmed, 50_000);
});

test('sender-pays: wrong amount and unconfirmed funding are refused; wrong r is refused; the claim publishes k on chain', async () => {
  const r = rnd(32);
  const body = rnd(500);
  const short = await quote('sender-pays');
  const bad = await fund(short, r, short.amount - 1);
  await rejects(bob.deposit(deposit(short, body, { hr: H(r), funding: bad.outpoint }), bad.payerPubkey), 'FUNDING_MISMATCH');

  const q = await quote('sender-pays');
  const f = await fund(q, r, q.amount);
  await rejects(bob.deposit(deposit(q, body, { hr: H(r), funding: f.outpoint }), f.payerPubkey), 'FUNDING_UNCONFIRMED');
  devnet.mine(1);
  // The payer key is part of the script: another key re-derives another contract.
  await rejects(bob.deposit(deposit(q, body, { hr: H(r), funding: f.outpoint }), bad.payerPubkey), 'FUNDING_MISMATCH');
  const receipt = ReceiptCodec.decode(await bob.deposit(deposit(q, body, { hr: H(r), funding: f.outpoint }), f.payerPubkey));
  assert.ok(verifyReceipt(receipt, ed));
  assert.deepEqual(receipt.hc, H(body));

  const id = Buffer.from(receipt.messageId).toString('hex');
  await rejects(bob.deliveryReceipt(id, rnd(32)), 'FUNDING_MISMATCH');
  await rejects(readClaimFromChain(backend, f.outpoint, f.script), 'NO_CLAIM');
  const claim = await bob.deliveryReceipt(id, r);
  await rejects(readClaimFromChain(backend, f.outpoint, f.script), 'NO_CLAIM'); // in the mempool, not confirmed
  devnet.mine(1);
  const onChain = await readClaimFromChain(backend, f.outpoint, f.script);
  assert.equal(onChain.claimTxid, claim.txid);
  assert.deepEqual(H(onChain.k), q.hk);
  assert.deepEqual(onChain.r, r);
});

test('deposits: unknown quote, body above the quoted size, funding on a recipient-pays deposit', async () => {
  const q = await quote('recipient-pays', 1000);
  await rejects(bob.deposit(deposit({ ...q, quoteId: rnd(16) }, rnd(10))), 'UNKNOWN_MESSAGE');
  await rejects(bob.deposit(deposit(q, rnd(1001))), 'TOO_LARGE');
  await rejects(bob.deposit(deposit(q, rnd(10), { hr: H(rnd(32)) })), 'FUNDING_MISMATCH');
  const receipt = ReceiptCodec.decode(await bob.deposit(deposit(q, rnd(1000))));
  assert.ok(verifyReceipt(receipt, ed));
});

test('listing: only the mailbox owner, only once per challenge', async () => {
  const sign = (challenge: Uint8Array, key = carol) => {
    const unsigned = { mailbox: carol.mailbox, identityKey: carol.publicKey, challenge, timestamp: Date.now() };
    return MailboxAuthCodec.encode({ ...unsigned, signature: key.keyPair.privateKey.sign(Uint8Array.from(mailboxAuthBytes(unsigned))) });
  };
  const c = bob.challenge();
  const listed = bob.list(sign(c));
  assert.ok(listed.length >= 1 && listed.every((m) => m.mode === 'recipient-pays' || m.contract !== undefined));
  assert.throws(() => bob.list(sign(c)), (e: unknown) => DemoError.is(e, 'NOT_MAILBOX_OWNER'));
  assert.throws(() => bob.list(sign(rnd(32))), (e: unknown) => DemoError.is(e, 'NOT_MAILBOX_OWNER'));
  const otherDb = openIdentityDb(':memory:');
  try {
    const mallory = createIdentity(otherDb, 'pw', { scrypt: light });
    assert.throws(() => bob.list(sign(bob.challenge(), mallory)), (e: unknown) => DemoError.is(e, 'NOT_MAILBOX_OWNER'));
  } finally {
    otherDb.close();
  }
});

test('recipient-pays: Bob refuses to claim once T - claim_margin is reached', async () => {
  const q = await quote('recipient-pays');
  const receipt = ReceiptCodec.decode(await bob.deposit(deposit(q, rnd(100))));
  const payerPubkey = payer.contractKey(payer.nextContractKeyIndex()).pubkey33;
  const script = buildContractScript({ mode: 'recipient-pays', hk: q.hk, relayPubkey: q.contractPubkey, payerPubkey, locktime: q.locktime });
  await payer.sync();
  const tx = await payer.createTransaction({ outputs: [{ script: contractScriptPubKey(script), amount: q.amount }], feeRate: 1 });
  await payer.broadcast(tx.txid);
  devnet.mine(q.locktime - policy.claimMargin - devnet.tip().height);
  await rejects(bob.payment(Buffer.from(receipt.messageId).toString('hex'), { txid: tx.txid, vout: 0 }, payerPubkey), 'TOO_LATE');
});
