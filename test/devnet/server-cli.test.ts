// `satpost devnet` as a process: start, drive it with the mine/faucet subcommands,
// stop it with SIGTERM, restart it on the same data dir and find the same chain.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { defaultDataDir } from '../../src/cli/data-dir.ts';
import { newKey } from '../chain/fixtures.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'satpost.js');

function start(dataDir: string): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, 'devnet', '--port', '0', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const m = /^listening on (http:\/\/127\.0\.0\.1:[0-9]+)$/.exec(line);
      if (m) resolve({ child, url: m[1]!, exited });
    });
    void exited.then((code) => reject(new Error(`devnet exited (${code}) before listening: ${stderr}`)));
  });
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('satpost devnet (process)', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'satpost-devnet-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serves, mines and funds through the subcommands, stops on SIGTERM and restarts with the same tip and mempool', async () => {
    const first = await start(dir);
    let tip: string;
    let pendingTxid: string;
    try {
      assert.ok(existsSync(join(dir, 'devnet.sqlite')));
      const height0 = Number(await (await fetch(`${first.url}/blocks/tip/height`)).text());

      const mined = await run(['devnet', 'mine', '2', '--chain', first.url]);
      assert.equal(mined.code, 0, mined.stderr);
      const hashes = mined.stdout.trim().split('\n');
      assert.equal(hashes.length, 2);
      assert.equal(await (await fetch(`${first.url}/blocks/tip/height`)).text(), String(height0 + 2));

      const key = newKey();
      const funded = await run(['devnet', 'faucet', key.address, '5000', '--chain', first.url, '--json']);
      assert.equal(funded.code, 0, funded.stderr);
      const { txid } = JSON.parse(funded.stdout) as { txid: string };
      const utxos = (await (await fetch(`${first.url}/address/${key.address}/utxo`)).json()) as { txid: string; value: number }[];
      assert.deepEqual(utxos.map((u) => [u.txid, u.value]), [[txid, 5000]]);
      assert.equal((await run(['devnet', 'mine', '1', '--address', key.address, '--chain', first.url])).code, 0);
      tip = await (await fetch(`${first.url}/blocks/tip/hash`)).text();
      const res = await fetch(`${first.url}/dev/faucet`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ address: key.address, sats: 7000 }),
      });
      pendingTxid = ((await res.json()) as { txid: string }).txid;
      assert.equal(hashes.includes(tip), false);

      const bad = await run(['devnet', 'faucet', 'notanaddress', '5000', '--chain', first.url]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /^error \[BAD_REQUEST\]: .*"address" expected a regtest address/);
      const zero = await run(['devnet', 'mine', '0', '--chain', first.url]);
      assert.notEqual(zero.code, 0);
      assert.match(zero.stderr, /expected an integer 1\.\.10000/);
    } finally {
      first.child.kill('SIGTERM');
    }
    assert.equal(await first.exited, 0);

    const second = await start(dir);
    try {
      assert.equal(await (await fetch(`${second.url}/blocks/tip/hash`)).text(), tip);
      assert.deepEqual(await (await fetch(`${second.url}/mempool/txids`)).json(), [pendingTxid]);
    } finally {
      second.child.kill('SIGINT');
    }
    assert.equal(await second.exited, 0);

    const unreachable = await run(['devnet', 'mine', '1', '--chain', second.url]);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /BACKEND_UNAVAILABLE/);
  });

  it('chooses the data dir from SATPOST_DATA_DIR, then XDG_DATA_HOME, then ~/.local/share', () => {
    assert.equal(defaultDataDir({ SATPOST_DATA_DIR: '/a', XDG_DATA_HOME: '/b' }), '/a');
    assert.equal(defaultDataDir({ XDG_DATA_HOME: '/b' }), join('/b', 'satpost'));
    assert.match(defaultDataDir({}), /\.local\/share\/satpost$/);
  });
});
