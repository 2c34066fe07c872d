// Quotas against a real relay (127.0.0.1:0, real SQLite, devnet chain, real wallets). The
// per-"mailbox" allowances are per tag now (the settings kept their names; newIdentity()'s
// mailbox is one tag): unpaid storage has its own allowances per tag and per depositor, a paid message is
// judged against the paid allowance only, refusals carry no usage figures, and one quote's k
// seals one blob however many deposits race for it.
import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContractTerms } from '../../src/contracts/index.ts';
import type { Quote } from '../../src/core/objects/index.ts';
import type { RelayConfig } from '../../src/relay/config.ts';
import type { SealJob } from '../../src/relay/seal.ts';
import { DepositorTags, depositorPrefix } from '../../src/relay/depositor.ts';
import {
  deposit, depositFor, errorOf, fundContract, getQuote, hexOf, newIdentity, offer, postDeposit, postQuote, rnd, testPayer, testRelay,
  type TestPayer, type TestRelay,
} from './helpers.ts';

const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

describe('relay quotas', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'satpost-relay-quota-'));
  let relay: TestRelay | undefined;
  const payers: TestPayer[] = [];
  afterEach(async () => {
    for (const p of payers.splice(0)) p.close();
    await relay?.close();
    relay = undefined;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const start = async (cfg: Partial<RelayConfig>, seen?: SealJob[]): Promise<TestRelay> => {
    relay = await testRelay(cfg, seen ? { onSeal: (job) => seen.push(job) } : {});
    return relay;
  };
  const payer = async (r: TestRelay, name: string): Promise<TestPayer> => {
    const p = await testPayer(r, dir, name);
    payers.push(p);
    return p;
  };
  const senderTerms = (q: Quote, hr: Uint8Array, payerPubkey: Uint8Array): ContractTerms =>
    ({ mode: 'sender-pays', hk: q.hk, hr, relayPubkey: q.contractPubkey, payerPubkey, locktime: q.locktime });
  /** A sender-pays deposit that carries its funding, broadcast on the devnet before the deposit. */
  const fundedDeposit = async (p: TestPayer, q: Quote) => {
    const hr = sha(rnd(32));
    const funding = await fundContract(p, senderTerms(q, hr, p.key), q.amount);
    return depositFor(q, rnd(q.size), { hr, payerPubkey: p.key, funding: { txid: funding.txid, vout: funding.vout } });
  };

  it('unpaid spam cannot lock a tag against a paying sender', async () => {
    const r = await start({ mailboxMaxMessages: 4, mailboxUnpaidMaxMessages: 4, depositorUnpaidMaxMessages: 100 });
    const carol = newIdentity();
    // The spammer fills Carol's unpaid allowance with free recipient-pays deposits.
    for (let i = 0; i < 4; i++) await deposit(r.url, depositFor(await getQuote(r.url, offer(carol.mailbox, 100))));

    // Alice pays: her funded deposit is judged against the paid allowance only.
    const alice = await payer(r, 'alice');
    const q = await getQuote(r.url, offer(carol.mailbox, 100, { mode: 'sender-pays' }));
    const receipt = await deposit(r.url, await fundedDeposit(alice, q));
    assert.deepEqual(receipt.hk, q.hk);
    const usage = r.store.mailboxUsage(carol.mailbox);
    assert.deepEqual([usage.paid.count, usage.unpaid.count], [1, 4]);

    // More unpaid mail is refused, typed: at the quote, and a sender-pays deposit without its funding.
    const spamQuote = await errorOf(await postQuote(r.url, offer(carol.mailbox, 100)));
    assert.deepEqual([spamQuote.status, spamQuote.code], [507, 'UNPAID_QUOTA_FULL']);
    const unfunded = await getQuote(r.url, offer(carol.mailbox, 100, { mode: 'sender-pays' }));
    const spamDeposit = await errorOf(await postDeposit(r.url, depositFor(unfunded, rnd(100), { hr: sha(rnd(32)), payerPubkey: alice.key })));
    assert.deepEqual([spamDeposit.status, spamDeposit.code], [507, 'UNPAID_QUOTA_FULL']);
  });

  it('unpaid spam from one depositor stops at its own allowance, other depositors keep theirs', async () => {
    const r = await start({ mailboxUnpaidMaxMessages: 100, depositorUnpaidMaxMessages: 3 });
    const carol = newIdentity();
    const dave = newIdentity();
    // Taken while there was room: the deposit is judged again.
    const late = await getQuote(r.url, offer(dave.mailbox, 100));
    for (const who of [carol, carol, dave]) await deposit(r.url, depositFor(await getQuote(r.url, offer(who.mailbox, 100))));
    // Over HTTP from 127.0.0.1, whichever tag it targets.
    const refused = await errorOf(await postQuote(r.url, offer(newIdentity().mailbox, 100)));
    assert.deepEqual([refused.status, refused.code], [429, 'DEPOSITOR_QUOTA_FULL']);
    const e = await errorOf(await postDeposit(r.url, depositFor(late)));
    assert.deepEqual([e.status, e.code], [429, 'DEPOSITOR_QUOTA_FULL']);
    // Another address is another depositor: Carol's tag still takes its mail.
    const q = await r.service.quote(offer(carol.mailbox, 100), '192.0.2.7');
    await r.service.deposit(depositFor(q), undefined, '192.0.2.7');
    assert.equal(r.store.mailboxUsage(carol.mailbox).unpaid.count, 3);
  });

  it('a full-tag refusal (MAILBOX_QUOTA_FULL) names no usage figures', async () => {
    const r = await start({ mailboxMaxMessages: 2, mailboxUnpaidMaxMessages: 2 });
    const carol = newIdentity();
    const alice = await payer(r, 'alice-full');
    const paidQuotes = [];
    for (let i = 0; i < 3; i++) paidQuotes.push(await getQuote(r.url, offer(carol.mailbox, 123, { mode: 'sender-pays' })));
    const unpaidQuotes = [];
    for (let i = 0; i < 3; i++) unpaidQuotes.push(await getQuote(r.url, offer(carol.mailbox, 123)));
    const figureless = (e: { code: string; body: Record<string, unknown> }, code: string) => {
      assert.equal(e.code, code);
      // Carol's message count and bytes are hers: no number at all, and no extra fields.
      assert.doesNotMatch(e.body.message as string, /[0-9]/, `${e.code}: ${e.body.message as string}`);
      assert.deepEqual(Object.keys(e.body).sort(), ['code', 'message']);
    };
    for (const q of paidQuotes.slice(0, 2)) await deposit(r.url, await fundedDeposit(alice, q));
    figureless(await errorOf(await postDeposit(r.url, await fundedDeposit(alice, paidQuotes[2]!))), 'MAILBOX_QUOTA_FULL');
    figureless(await errorOf(await postQuote(r.url, offer(carol.mailbox, 123, { mode: 'sender-pays' }))), 'MAILBOX_QUOTA_FULL');
    for (const q of unpaidQuotes.slice(0, 2)) await deposit(r.url, depositFor(q));
    figureless(await errorOf(await postDeposit(r.url, depositFor(unpaidQuotes[2]!))), 'UNPAID_QUOTA_FULL');
    figureless(await errorOf(await postQuote(r.url, offer(carol.mailbox, 123))), 'UNPAID_QUOTA_FULL');
  });

  it('two concurrent deposits on one quote seal with k at most once', async () => {
    const seen: SealJob[] = [];
    const r = await start({}, seen);
    const carol = newIdentity();
    const q = await getQuote(r.url, offer(carol.mailbox, 2000));
    // Two different bodies fired at once on the same quote.
    const [a, b] = await Promise.all([postDeposit(r.url, depositFor(q)), postDeposit(r.url, depositFor(q))]);
    const statuses = [a.status, b.status].sort();
    assert.deepEqual(statuses, [200, 409], 'exactly one is stored, the other refused');
    const refused = await errorOf(a.status === 409 ? a : b);
    assert.equal(refused.code, 'QUOTE_USED');
    const sealedUnderHk = seen.filter((job) => hexOf(job.hk) === hexOf(q.hk));
    assert.equal(sealedUnderHk.length, 1, 'k sealed one blob only');
    // And the one blob sealed is the one stored.
    assert.deepEqual(r.store.messageByQuote(q.quoteId)!.hc, sha(sealedUnderHk[0]!.body));
  });
});

describe('depositor tags', () => {
  it('one depositor per IPv4 address and per IPv6 /64, an IPv4-mapped address as its IPv4', () => {
    const tags = new DepositorTags();
    const same = (a: string, b: string) => hexOf(tags.tag(a)) === hexOf(tags.tag(b));
    assert.ok(same('192.0.2.1', '::ffff:192.0.2.1'));
    assert.ok(!same('192.0.2.1', '192.0.2.2'));
    assert.ok(same('2001:db8:0:1::5', '2001:DB8:0000:0001:ffff:1:2:3'), 'one /64');
    assert.ok(!same('2001:db8:0:1::5', '2001:db8:0:2::5'));
    assert.equal(depositorPrefix('2001:db8::1%eth0'), '2001:db8:0:0::/64');
    assert.ok(!hexOf(tags.tag('192.0.2.1')).includes('c0000201'), 'the tag is a keyed hash, not the address');
    assert.ok(hexOf(new DepositorTags().tag('192.0.2.1')) !== hexOf(tags.tag('192.0.2.1')), 'another key, another tag');
  });
});
