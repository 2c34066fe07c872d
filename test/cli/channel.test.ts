// `satpost channel open | list | close` as users run them: a devnet process, a relay process
// and Alice's commands as separate processes on her data directory; --json output, exit codes
// and the typed errors a person meets.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseEnv, devPost, json, run, startDevnet, startRelay, type Listening, type Run } from './helpers.ts';

const errorOf = (r: Run): { code: string; message: string } => {
  assert.equal(r.code, 1, r.stdout + r.stderr);
  return (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
};

interface Summary { id: string; relay: string; status: string; capacity: number; payerBalance: number; relayBalance: number; inFlight: number; expiry: number; blocksLeft?: number; closeTxid?: string }

describe('satpost channel (processes)', { timeout: 180_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'satpost-clich-'));
  const dir = join(root, 'alice');
  const as = (args: string[]) => run([...args, '--data-dir', dir], baseEnv({ SATPOST_PASSPHRASE: 'alice pw' }));
  let devnet: Listening;
  let relay: Listening;

  before(async () => {
    devnet = await startDevnet(join(root, 'chain'));
    relay = await startRelay(join(root, 'relay'), devnet.url);
  });
  after(async () => {
    for (const p of [relay, devnet]) {
      p.child.kill('SIGTERM');
      await p.exited;
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('open, list and close with --json, and the refusals', async () => {
    json(await as(['init', '--relay', relay.url, '--chain', devnet.url, '--json']));
    const help = await as(['channel', '--help']);
    assert.match(help.stdout, /open \[options\] <relay>/);
    assert.match(help.stdout, /T_ch/);

    const poor = errorOf(await as(['channel', 'open', relay.url, '--sats', '50000', '--json']));
    assert.equal(poor.code, 'INSUFFICIENT_FUNDS');
    const address = json<{ address: string }>(await as(['wallet', 'address', '--json'])).address;
    await devPost(devnet.url, '/dev/faucet', { address, sats: 200_000 });
    await devPost(devnet.url, '/dev/mine', { blocks: 1 });
    assert.equal(errorOf(await as(['channel', 'open', relay.url, '--sats', '500', '--json'])).code, 'CHANNEL_TERMS');
    assert.equal(errorOf(await as(['channel', 'open', relay.url, '--sats', '50000', '--blocks', '5', '--json'])).code, 'CHANNEL_TERMS');
    assert.deepEqual(json<{ channels: Summary[] }>(await as(['channel', 'list', '--json'])).channels, [], 'refused opens funded nothing');

    const opened = json<{ channel: Summary }>(await as(['channel', 'open', relay.url, '--sats', '50000', '--blocks', '200', '--json'])).channel;
    assert.equal(opened.status, 'opening');
    assert.equal(opened.capacity, 50_000);
    assert.equal(opened.blocksLeft, 200);
    await devPost(devnet.url, '/dev/mine', { blocks: 1 });
    const [listed] = json<{ channels: Summary[] }>(await as(['channel', 'list', '--json'])).channels;
    assert.equal(listed!.id, opened.id);
    assert.equal(listed!.relay, relay.url);
    assert.equal(listed!.status, 'open');
    assert.equal(listed!.payerBalance, 50_000);
    assert.equal(listed!.relayBalance, 0);
    assert.equal(listed!.inFlight, 0);
    assert.equal(listed!.blocksLeft, 199);
    const text = await as(['channel', 'list']);
    assert.match(text.stdout, new RegExp(`${opened.id.slice(0, 16)}  ${relay.url}  open`));

    assert.equal(errorOf(await as(['channel', 'close', 'ffff0000', '--json'])).code, 'UNKNOWN_CHANNEL');
    const closed = json<{ channel: Summary }>(await as(['channel', 'close', opened.id.slice(0, 10), '--json'])).channel;
    assert.equal(closed.status, 'closing-cooperative');
    assert.match(closed.closeTxid!, /^[0-9a-f]{64}$/);
    await devPost(devnet.url, '/dev/mine', { blocks: 1 });
    const [after1] = json<{ channels: Summary[] }>(await as(['channel', 'list', '--json'])).channels;
    assert.equal(after1!.status, 'closed-cooperative');

    const noRelay = errorOf(await as(['channel', 'open', 'http://127.0.0.1:1', '--sats', '50000', '--json']));
    assert.equal(noRelay.code, 'RELAY_UNREACHABLE');
  });
});
