// `npm run demo` end to end: the CLI as a child process, then runDemo in-process with the exact sats accounting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDemo } from '../../src/demo/main.ts';
import { FUNDING_SATS, MESSAGE_1, MESSAGE_2 } from '../../src/demo/run.ts';
import { walletPassphrase } from '../../src/demo/people.ts';
import { Wallet } from '../../src/wallet/index.ts';

function runChild(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/demo/main.ts'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('npm run demo: exits 0, tells both messages, verifies Alice, names the claims Carol read k from, removes its temp dir', async () => {
  const { code, stdout, stderr } = await runChild();
  assert.equal(code, 0, `demo failed:\n${stderr}\n${stdout}`);
  assert.match(stdout, /devnet listening on http:\/\/127\.0\.0\.1:\d+/);
  assert.match(stdout, /Carol's address: satpost1[a-z0-9]+/);
  assert.equal(stdout.match(/verified: from Alice/g)?.length, 2);
  assert.ok(stdout.includes(`Carol reads: "${MESSAGE_1}"`));
  assert.ok(stdout.includes(`Carol reads: "${MESSAGE_2}"`));
  const claims = [...stdout.matchAll(/Bob claims, publishing k(?: and r)?: txid ([0-9a-f]{64})/g)].map((m) => m[1]!);
  assert.equal(claims.length, 2);
  const readFrom = [...stdout.matchAll(/Carol reads k from the confirmed claim ([0-9a-f]{64})/g)].map((m) => m[1]!);
  assert.deepEqual(readFrom, claims, 'Carol learns each k from the claim Bob broadcast');
  assert.match(stdout, /shut down: devnet server closed/);
  const removed = /removed (\S+)/.exec(stdout);
  assert.ok(removed, 'names its temp dir');
  assert.equal(existsSync(removed[1]!), false, 'the temp dir is gone');
});

test('runDemo in-process: Alice and Carol each pay contract + funding fee, Bob earns contracts - claim fees, to the sat', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'satpost-demo-test-'));
  try {
    const lines: string[] = [];
    const result = await runDemo({ out: (l) => lines.push(l), dir });
    const [m1, m2] = result.messages as [(typeof result.messages)[0], (typeof result.messages)[0]];
    assert.equal(m1.text, MESSAGE_1);
    assert.equal(m1.mode, 'sender-pays');
    assert.equal(m2.text, MESSAGE_2);
    assert.equal(m2.mode, 'recipient-pays');

    const a = result.accounting;
    assert.equal(a.alicePaid, m1.amount + m1.funding.fee);
    assert.equal(a.carolPaid, m2.amount + m2.funding.fee);
    assert.equal(a.bobEarned, m1.amount - m1.claim.fee + m2.amount - m2.claim.fee);
    assert.equal(a.fees, m1.funding.fee + m2.funding.fee + m1.claim.fee + m2.claim.fee);
    assert.equal(a.alicePaid + a.carolPaid, a.bobEarned + a.fees);
    for (const m of [m1, m2]) {
      assert.ok(m.amount > 0 && m.funding.fee > 0 && m.claim.fee > 0);
      assert.equal(m.claim.txid, m.claimTxid, 'Carol read k from the very claim Bob broadcast');
    }

    // Four transactions, each narrated with its size and fee, and the figures match the outcomes.
    assert.equal(result.txs.length, 4);
    assert.equal(new Set(result.txs.map((t) => t.txid)).size, 4);
    assert.deepEqual(result.txs.map((t) => t.txid), [m1.funding.txid, m1.claim.txid, m2.funding.txid, m2.claim.txid]);
    for (const t of result.txs) assert.ok(lines.some((l) => l.includes(t.txid) && l.includes(`${t.vsize} vB`)));
    assert.ok(lines.includes('shut down: devnet server closed, every wallet and database closed'));

    // The wallets are real files: reopened after the run (everything was closed), Alice's holds what the story says.
    const alice = Wallet.open({ db: join(dir, 'alice', 'wallet.sqlite'), passphrase: walletPassphrase('Alice') });
    try {
      const b = alice.balance();
      assert.equal(b.confirmed + b.unconfirmed + b.reserved, FUNDING_SATS - a.alicePaid);
      assert.equal(b.lockedInContracts, 0);
    } finally {
      alice.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('runDemo: a run that cannot open its chain fails with its cause and starts nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'satpost-demo-test-'));
  try {
    const notADir = join(dir, 'file');
    writeFileSync(notADir, 'not a directory');
    const lines: string[] = [];
    await assert.rejects(runDemo({ out: (l) => lines.push(l), dir: notADir }), (e: unknown) => (e as { code?: string }).code === 'ENOTDIR');
    assert.ok(lines.includes('shut down: devnet server closed, every wallet and database closed'));
    assert.ok(!lines.some((l) => l.includes('listening')), 'no server was started');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
