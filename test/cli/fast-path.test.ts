// The fast path of bin/satpost.js (src/cli/fast.ts): --version, every command's --help and
// `address` answered without loading the CLI must print exactly what the CLI prints. Each case
// runs the command twice, as a user runs it and with SATPOST_FULL_CLI=1 (the CLI always), and
// compares stdout, stderr and the exit code; NODE_DEBUG=esm (Node's module loader naming each
// file it loads) shows which path ran, so a fast path that quietly never answers fails too.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.ts';
import type { FastAnswers } from '../../src/cli/fast.ts';
import { BIN, baseEnv, json, run, startDevnet, type Run } from './helpers.ts';

const DIST = join(import.meta.dirname, '..', '..', 'dist', 'cli');

/** The CLI's own output for `args`, and the answer as a user gets it; asserted equal. */
async function bothPaths(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const [asUser, full] = await Promise.all([run(args, env), run(args, { ...env, SATPOST_FULL_CLI: '1' })]);
  assert.deepEqual(asUser, full, `satpost ${args.join(' ')}: the fast path and the CLI differ`);
  return asUser;
}

/** Whether `satpost args` loaded the CLI bundle (dist/cli/main.js), as Node's module loader reports it. */
async function loadsCli(args: string[], env: NodeJS.ProcessEnv): Promise<boolean> {
  const r = await run(args, { ...env, NODE_DEBUG: 'esm' });
  assert.match(r.stderr, /dist\/cli\/fast\.js/, 'NODE_DEBUG=esm names the files loaded (else this check proves nothing)');
  return /dist\/cli\/main\.js/.test(r.stderr);
}

function* commandPaths(cmd: Command, path: string[] = []): Generator<string[]> {
  yield path;
  for (const sub of cmd.commands) yield* commandPaths(sub, [...path, sub.name()]);
}

/** Runs `args` at a terminal of `columns` (script(1)); stdout as the terminal shows it, and whether the CLI bundle loaded. */
function onTerminal(columns: number, args: string[], env: NodeJS.ProcessEnv, log: string): Promise<{ shown: string; loadedCli: boolean }> {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qec', `stty cols ${columns}; ${quoted} 2>'${log}'`, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, NODE_DEBUG: 'esm' } });
  let shown = '';
  child.stdout.on('data', (d: Buffer) => (shown += d.toString()));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve({ shown, loadedCli: /dist\/cli\/main\.js/.test(readFileSync(log, 'utf8')) }) : reject(new Error(`script exited ${code}: ${shown}`)))),
  );
}

describe('the fast path prints what the CLI prints', { timeout: 300_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'satpost-fast-'));
  let devnet: { child: ChildProcess; url: string; exited: Promise<number | null> };
  before(async () => {
    devnet = await startDevnet(join(root, 'chain'));
  });
  after(async () => {
    devnet.child.kill('SIGTERM');
    await devnet.exited;
    rmSync(root, { recursive: true, force: true });
  });

  it('--version and --help of the program and of every command: the same bytes, without loading the CLI', async () => {
    const recorded = JSON.parse(readFileSync(join(DIST, 'fast-answers.json'), 'utf8')) as FastAnswers;
    const paths = [...commandPaths(buildProgram())];
    // The recorded answers cover the program the sources define, every command of it.
    const expected = [['--version'], ['-V'], ...paths.flatMap((p) => [[...p, '--help'], [...p, '-h']])].map((a) => a.join('\0'));
    assert.deepEqual(Object.keys(recorded.answers).sort(), expected.sort());
    const env = baseEnv();
    const version = await bothPaths(['--version'], env);
    assert.deepEqual(version, { code: 0, stdout: `${JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')).version}\n`, stderr: '' });
    assert.deepEqual(await bothPaths(['-V'], env), version);
    assert.equal(await loadsCli(['--version'], env), false);
    // Two at a time: the machine is shared.
    const queue = paths.map((p) => [...p, '--help']);
    const worker = async () => {
      for (let args = queue.shift(); args; args = queue.shift()) {
        const help = await bothPaths(args, env);
        assert.equal(help.code, 0, help.stderr);
        assert.match(help.stdout, /^Usage: satpost /);
      }
    };
    await Promise.all([worker(), worker()]);
    assert.deepEqual(await bothPaths(['contact', 'add', '-h'], env), await run(['contact', 'add', '--help'], env));
    for (const args of [['--help'], ['relay', 'wallet', 'send', '--help']]) assert.equal(await loadsCli(args, env), false, args.join(' '));
    // Not recorded: the CLI answers (here: `help` is a command of its own).
    assert.equal(await loadsCli(['help', 'address'], env), true);
    assert.equal((await bothPaths(['help', 'address'], env)).code, 0);
    assert.equal(await loadsCli(['--help', '--version'], env), true);
  });

  it('help on a terminal: wrapped to its width as the CLI wraps it; a width not recorded runs the CLI', async () => {
    const env = baseEnv();
    const recorded = JSON.parse(readFileSync(join(DIST, 'fast-answers.json'), 'utf8')) as FastAnswers;
    const top = recorded.answers['--help']!;
    const unrecorded = 97;
    assert.ok(top.wideFrom > unrecorded && top.widths[unrecorded] === undefined && top.widths[80] !== undefined && top.widths[120] !== undefined);
    const log = join(root, 'terminal-stderr');
    for (const columns of [80, 120, top.wideFrom, top.wideFrom + 40, unrecorded]) {
      const fast = await onTerminal(columns, ['--help'], env, log);
      const full = await onTerminal(columns, ['--help'], { ...env, SATPOST_FULL_CLI: '1' }, log);
      assert.equal(fast.shown, full.shown, `${columns} columns`);
      assert.equal(full.loadedCli, true);
      assert.equal(fast.loadedCli, columns === unrecorded, `${columns} columns: loaded the CLI`);
    }
    // The widths differ (else this test would not tell them apart).
    assert.notEqual((await onTerminal(80, ['--help'], env, log)).shown, (await onTerminal(120, ['--help'], env, log)).shown);
  });

  it('address: from public.json with --json and --data-dir in each form, or the default directory, without loading the CLI', async () => {
    const dir = join(root, 'xdg', 'satpost');
    mkdirSync(join(root, 'xdg'));
    const init = json<{ address: string; fingerprint: string }>(
      await run(['init', '--data-dir', dir, '--relay', 'http://127.0.0.1:8090/', '--chain', devnet.url, '--json'], baseEnv({ SATPOST_PASSPHRASE: 'fast pw' })),
    );
    const noPw = baseEnv();
    const text = { code: 0, stdout: `${init.address}\n`, stderr: '' };
    assert.deepEqual(await bothPaths(['address', '--data-dir', dir], noPw), text);
    assert.deepEqual(await bothPaths(['address', `--data-dir=${dir}`], noPw), text);
    assert.deepEqual(await bothPaths(['address'], baseEnv({ SATPOST_DATA_DIR: dir })), text);
    assert.deepEqual(await bothPaths(['address'], baseEnv({ XDG_DATA_HOME: join(root, 'xdg') })), text);
    const asJson = await bothPaths(['address', '--json', '--data-dir', dir], noPw);
    assert.deepEqual(json(asJson), { address: init.address, fingerprint: init.fingerprint, identityKey: json<{ identityKey: string }>(asJson).identityKey });
    assert.match(json<{ identityKey: string }>(asJson).identityKey, /^05[0-9a-f]{64}$/);
    assert.deepEqual(await bothPaths(['address', '--data-dir', dir, '--json'], noPw), asJson);
    for (const args of [['address', '--data-dir', dir], ['address', '--json', `--data-dir=${dir}`]]) assert.equal(await loadsCli(args, noPw), false, args.join(' '));

    // What the fast path leaves to the CLI, with the CLI's answer: other options, repeated
    // ones, no public.json yet (the passphrase is needed once), a damaged one, no directory.
    const elsewhere = { ...noPw, SATPOST_DATA_DIR: join(root, 'nothing-here') };
    const cases: [string[], NodeJS.ProcessEnv][] = [
      [['address', '--network', 'regtest', '--data-dir', dir], noPw],
      [['address', '--network', 'mainnet', '--json', '--data-dir', dir], noPw],
      [['address', '--json', '--json', '--data-dir', dir], noPw],
      [['address', '--data-dir'], noPw],
      [['address', '--json'], elsewhere],
      [['address', '--data-dir', dir], baseEnv({ SATPOST_TEST_SCRYPT_COUNT: '1' })],
    ];
    for (const [args, env] of cases) {
      await bothPaths(args, env);
      assert.equal(await loadsCli(args, env), true, args.join(' '));
    }
    assert.equal(JSON.parse((await bothPaths(['address', '--network', 'mainnet', '--json', '--data-dir', dir], noPw)).stdout).error.code, 'NETWORK_MISMATCH');
    const publicJson = join(dir, 'public.json');
    const saved = readFileSync(publicJson, 'utf8');
    writeFileSync(publicJson, '{"version": 1, "network": "regtest"');
    assert.equal(JSON.parse((await bothPaths(['address', '--json', '--data-dir', dir], noPw)).stdout).error.code, 'BAD_CONFIG');
    writeFileSync(publicJson, saved.replace(init.address, init.address.slice(0, -1) + (init.address.endsWith('q') ? 'p' : 'q')));
    assert.equal(JSON.parse((await bothPaths(['address', '--json', '--data-dir', dir], noPw)).stdout).error.code, 'BAD_CHECKSUM');
    rmSync(publicJson);
    assert.equal(JSON.parse((await bothPaths(['address', '--json', '--data-dir', dir], noPw)).stdout).error.code, 'PASSPHRASE_REQUIRED');
  });
});
