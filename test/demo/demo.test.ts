// `npm run demo` end to end over the real parts (devnet over HTTP, three relay daemons on a
// libp2p relay network, Alice and Carol through the Client SDK): the command as a child
// process, then runDemo in-process with the exact sats accounting, then the failure paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA_FILES } from '../../src/client/index.ts';
import { runDemo } from '../../src/demo/main.ts';
import { FUNDING_SATS, MESSAGE_1, MESSAGE_2, SHUTDOWN_LINE, userPassphrase } from '../../src/demo/run.ts';
import { RELAY_SPECS } from '../../src/demo/relays.ts';
import { Wallet } from '../../src/wallet/index.ts';
import { openPartyDb } from '../../src/watch/index.ts';
import { unlockDataKey } from '../../src/store/data-key.ts';

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const names = RELAY_SPECS.map((s) => s.name);
/** Act 3's message count in the suite (`npm run demo` sends 1,000: about 0.3 s each on 2 cores). */
const CHANNEL_MESSAGES = 50;
const testEnv = { ...process.env, SATPOST_DEMO_CHANNEL_MESSAGES: String(CHANNEL_MESSAGES) };

test('npm run demo: exits 0; the relays mesh; Carol asks one relay, another holds; both messages verified, claimed and read; act 3 over channels', { timeout: 300_000 }, async () => {
  const { code, stdout, stderr } = await run('npm', ['run', '--silent', 'demo'], testEnv);
  assert.equal(code, 0, `demo failed:\n${stderr}\n${stdout}`);
  assert.match(stdout, /devnet listening on http:\/\/127\.0\.0\.1:\d+/);
  for (const name of names.slice(1)) assert.ok(stdout.includes(`bootstraps from ${names[0]}'s multiaddr`), name);
  assert.ok(stdout.includes(`the relays found each other`) && stdout.includes(names.map((n) => `${n} 2 peers`).join(', ')), 'every relay has two peers');
  assert.match(stdout, /Carol's address: satpost1[a-z0-9]+/);
  assert.equal(stdout.match(/verified: from alice/g)?.length, 2);
  assert.ok(stdout.includes(`Carol reads: "${MESSAGE_1}"`));
  assert.ok(stdout.includes(`Carol reads: "${MESSAGE_2}"`));

  const asked = [...stdout.matchAll(/Carol asked (\w+)'s relay; (\w+)'s relay holds it/g)];
  assert.equal(asked.length, 2);
  for (const [, askedAt, storedAt] of asked) assert.notEqual(askedAt, storedAt, 'the network found the message at another relay');

  const quotes = [...stdout.matchAll(/(\w+)'s relay quotes ([\d,]+) sats/g)];
  assert.equal(quotes.length, 6, 'three quotes per message');
  const claims = [...stdout.matchAll(/claims, publishing k(?: and r)?: txid ([0-9a-f]{64}) \((\d+) vB, fee (\d+) sats\)/g)].map((m) => m[1]!);
  assert.equal(claims.length, 2);
  const fromChain = [...stdout.matchAll(/the confirmed claim ([0-9a-f]{64}) \(height \d+\) publishes k/g)].map((m) => m[1]!);
  assert.deepEqual(fromChain, claims, 'each claim is read back from the chain');
  assert.equal([...stdout.matchAll(/funds HTLC\(H\(k\)(?:, H\(r\))?\): txid [0-9a-f]{64} \(\d+ vB, fee \d+ sats\)/g)].length, 2);
  assert.match(stdout, /paid = earned \+ fees, to the sat/);
  assert.ok(stdout.includes(`${CHANNEL_MESSAGES} / ${CHANNEL_MESSAGES} sent, read and settled`), 'act 3 ran with the count of the environment');
  assert.ok(stdout.includes(`${CHANNEL_MESSAGES + CHANNEL_MESSAGES / 10} messages paid and read: not one transaction was broadcast`));
  const perMessage = /act 3: ([\d.]+) vB on chain per message over channels, ([\d.]+) vB per message as contracts/.exec(stdout);
  assert.ok(perMessage, 'the summary compares the two vB figures');
  assert.ok(Number(perMessage[1]) < Number(perMessage[2]));

  assert.ok(stdout.includes(SHUTDOWN_LINE));
  const removed = /removed (\S+)/.exec(stdout);
  assert.ok(removed, 'names its temp dir');
  assert.equal(existsSync(removed[1]!), false, 'the temp dir is gone');
  assert.equal(stderr, '', 'nothing on stderr');
});

test('runDemo in-process: the cheapest relay stores, payers pay price + funding fee, relays earn price - claim fee; channels exact to the sat', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'satpost-demo-test-'));
  try {
    const lines: string[] = [];
    const result = await runDemo({ out: (l) => lines.push(l), dir, channelMessages: CHANNEL_MESSAGES });
    const [m1, m2] = result.messages as [(typeof result.messages)[0], (typeof result.messages)[0]];
    assert.deepEqual([m1.text, m1.mode, m2.text, m2.mode], [MESSAGE_1, 'sender-pays', MESSAGE_2, 'recipient-pays']);

    const cheapest = [...result.relays].sort((a, b) => a.price - b.price)[0]!;
    for (const m of [m1, m2]) {
      assert.equal(m.quotes.length, 3);
      assert.equal(new Set(m.quotes.map((q) => q.amount)).size, 3, 'the three relays price differently');
      assert.equal(m.price, Math.min(...m.quotes.map((q) => q.amount)));
      assert.equal(m.storedAt, cheapest.name);
      assert.notEqual(m.askedAt, m.storedAt);
      assert.ok(m.price > 0 && m.funding.fee > 0 && m.claim.fee > 0);
    }

    // Act 3: every message over a channel with the cheapest relay; each balance is exactly the prices.
    const ch = result.channels;
    const rpCount = CHANNEL_MESSAGES / 10;
    assert.equal(ch.relay, cheapest.name);
    assert.deepEqual([ch.alice.messages, ch.carol.messages], [CHANNEL_MESSAGES, rpCount]);
    assert.equal(ch.networkOffers, 0, "no act-3 message, either mode, is offered to the network: Alice's standing terms decide");
    const capped = Math.min(...result.relays.filter((r) => r.name !== cheapest.name).map((r) => r.price)) - 1;
    for (const side of [ch.alice, ch.carol]) {
      assert.equal(side.prices.length, side.messages);
      assert.ok(side.prices.every((p) => p > 0 && p <= capped), 'every price within the cap only the cheapest relay meets');
      assert.equal(side.relayBalance, side.prices.reduce((x, y) => x + y, 0), "the relay's balance is exactly the prices");
      assert.equal(side.capacity, side.relayBalance + side.close.fee + side.returned + side.payerSweep.fee, 'capacity = relay + close fee + returned + sweep fee');
      assert.equal(side.paid, side.relayBalance + side.funding.fee + side.close.fee + side.payerSweep.fee);
      assert.ok(side.funding.fee > 0 && side.close.fee > 0 && side.payerSweep.fee > 0 && side.relaySweep.fee > 0);
    }
    const messages = CHANNEL_MESSAGES + rpCount;
    const chainVb = ch.alice.funding.vsize + ch.carol.funding.vsize + ch.alice.close.vsize + ch.carol.close.vsize;
    assert.equal(ch.vbPerMessage, chainVb / messages);
    assert.equal(ch.onChainVbPerMessage, (CHANNEL_MESSAGES * (m1.funding.vsize + m1.claim.vsize) + rpCount * (m2.funding.vsize + m2.claim.vsize)) / messages);
    assert.ok(ch.vbPerMessage < ch.onChainVbPerMessage / 10, `${ch.vbPerMessage} vB per message over channels vs ${ch.onChainVbPerMessage} as contracts`);
    assert.ok(ch.vbPerMessageWithSweeps > ch.vbPerMessage && ch.vbPerMessageWithSweeps < ch.onChainVbPerMessage);

    const a = result.accounting;
    assert.equal(a.alicePaid, m1.price + m1.funding.fee + ch.alice.paid);
    assert.equal(a.carolPaid, m2.price + m2.funding.fee + ch.carol.paid);
    const bobChannels = ch.alice.relayBalance - ch.alice.relaySweep.fee + ch.carol.relayBalance - ch.carol.relaySweep.fee;
    assert.deepEqual(
      a.relayEarned,
      Object.fromEntries(result.relays.map((r) => [r.name, r.name === cheapest.name ? m1.price - m1.claim.fee + m2.price - m2.claim.fee + bobChannels : 0])),
    );
    assert.equal(a.fees, result.txs.reduce((x, t) => x + t.fee, 0));
    const earned = Object.values(a.relayEarned).reduce((x, y) => x + y, 0);
    assert.equal(a.alicePaid + a.carolPaid, earned + a.fees, 'what Alice and Carol paid = what relays earned + miner fees');

    const act3Txs = [ch.alice.funding, ch.carol.funding, ch.alice.close, ch.carol.close, ch.alice.payerSweep, ch.alice.relaySweep, ch.carol.payerSweep, ch.carol.relaySweep];
    assert.deepEqual(result.txs.map((t) => t.txid), [m1.funding.txid, m1.claim.txid, m2.funding.txid, m2.claim.txid, ...act3Txs.map((t) => t.txid)]);
    assert.equal(new Set(result.txs.map((t) => t.txid)).size, 12, 'twelve transactions in all, whatever the message count');
    for (const t of result.txs) assert.ok(lines.some((l) => l.includes(t.txid) && l.includes(`${t.vsize} vB`) && l.includes(`fee ${t.fee} sats`)), t.label);
    assert.equal(lines.at(-1), SHUTDOWN_LINE);

    // The wallets are real files, closed after the run: Alice's holds what the story says.
    const db = openPartyDb(join(dir, 'alice', DATA_FILES.wallet), unlockDataKey(join(dir, 'alice'), userPassphrase('Alice')));
    try {
      const alice = Wallet.open({ db, passphrase: userPassphrase('Alice') });
      const b = alice.balance();
      alice.close();
      assert.equal(b.confirmed + b.unconfirmed + b.reserved, FUNDING_SATS + ch.topUps.alice - a.alicePaid);
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('runDemo: a channel message count that is no positive integer is refused before anything starts', async () => {
  for (const bad of [0, -1, 2.5, Number.NaN]) {
    const lines: string[] = [];
    await assert.rejects(runDemo({ out: (l) => lines.push(l), dir: tmpdir(), channelMessages: bad }), (e: unknown) => (e as { code?: string }).code === 'BAD_OPTION');
    assert.deepEqual(lines, [], 'nothing was narrated: nothing started');
  }
});

test('runDemo: a run that cannot open its chain fails with its cause and starts nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'satpost-demo-test-'));
  try {
    const notADir = join(dir, 'file');
    writeFileSync(notADir, 'not a directory');
    const lines: string[] = [];
    await assert.rejects(runDemo({ out: (l) => lines.push(l), dir: notADir }), (e: unknown) => (e as { code?: string }).code === 'ENOTDIR');
    assert.ok(lines.includes(SHUTDOWN_LINE));
    assert.ok(!lines.some((l) => l.includes('listening')), 'no server or relay was started');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the demo command: a failure exits non-zero with the reason on stderr', { timeout: 60_000 }, async () => {
  // npm replaces an unusable TMPDIR, so the entry point runs directly, with a file as its temp dir (tsx's cache off: it would trip first).
  const dir = mkdtempSync(join(tmpdir(), 'satpost-demo-test-'));
  try {
    const file = join(dir, 'file');
    writeFileSync(file, 'not a directory');
    const { code, stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/demo/main.ts'], { ...process.env, TMPDIR: file, TSX_DISABLE_CACHE: '1' });
    assert.equal(code, 1);
    assert.match(stderr, /^demo failed: .*ENOTDIR/);
    assert.ok(!stdout.includes('listening'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
