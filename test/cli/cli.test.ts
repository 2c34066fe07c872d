// `satpost` as a user runs it: init, address, contacts, wallet, against a devnet process.
// Alice and Carol have separate data directories; every assertion is on what a person
// (or a script using --json) sees: stdout, stderr and the exit code.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Client } from '../../src/client/client.ts';
import { decodeAddress } from '../../src/identity/address.ts';
import { baseEnv, devPost, json, run, runOnTerminal, startDevnet } from './helpers.ts';

const RELAY = 'http://127.0.0.1:8090/';

describe('satpost CLI (processes)', { timeout: 300_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'satpost-cli-'));
  const aliceDir = join(root, 'alice');
  const carolDir = join(root, 'carol');
  const alice = (args: string[], extra: Record<string, string | undefined> = {}) =>
    run([...args, '--data-dir', aliceDir], baseEnv({ SATPOST_PASSPHRASE: 'alice pw', ...extra }));
  const carol = (args: string[]) => run([...args, '--data-dir', carolDir], baseEnv({ SATPOST_PASSPHRASE: 'carol pw' }));
  let devnet: { child: ChildProcess; url: string; exited: Promise<number | null> };

  before(async () => {
    devnet = await startDevnet(join(root, 'chain'));
  });
  after(async () => {
    devnet.child.kill('SIGTERM');
    await devnet.exited;
    rmSync(root, { recursive: true, force: true });
  });

  it('init, address, contacts and the wallet, with exact output and exit codes', async () => {
    const [a, c] = await Promise.all([
      alice(['init', '--relay', 'http://127.0.0.1:8090', '--chain', devnet.url]),
      carol(['init', '--relay', RELAY, '--chain', devnet.url, '--json']),
    ]);
    assert.equal(a.code, 0, a.stderr);
    // No relay listens on RELAY here: init still succeeds and says how to publish later.
    assert.match(a.stderr, /^creating keys in \S+\.\.\.\npublishing your prekeys at your relays\.\.\.\nwarning: your prekeys are not published yet \(cannot reach relay http:\/\/127\.0\.0\.1:8090: .*ECONNREFUSED.*\); run `satpost publish` once your relay is up\n$/);
    const lines = a.stdout.split('\n');
    assert.equal(lines.length, 7);
    assert.equal(lines[0], `initialized satpost in ${aliceDir} (regtest, chain ${devnet.url})`);
    assert.equal(lines[1], 'your satpost address (give it to the people who will write to you):');
    assert.match(lines[2]!, /^ {2}satpost1[02-9ac-hj-np-z]+$/);
    assert.match(lines[3]!, /^your fingerprint: ([0-9a-f]{5} ){7}[0-9a-f]{5}$/);
    assert.equal(lines[4], 'wallet recovery phrase (write it down now; it is not shown again):');
    assert.match(lines[5]!, /^ {2}([a-z]+ ){11}[a-z]+$/);
    assert.equal(lines[6], '');
    const aliceAddress = lines[2]!.trim();

    assert.equal(c.code, 0, c.stderr);
    const carolInit = JSON.parse(c.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(carolInit).sort(), ['address', 'chain', 'dataDir', 'fingerprint', 'mnemonic', 'network', 'publishedAt', 'relays']);
    assert.deepEqual(carolInit.publishedAt, []);
    assert.equal(carolInit.dataDir, carolDir);
    assert.deepEqual(carolInit.relays, [RELAY]);
    const carolAddress = carolInit.address as string;
    assert.deepEqual(decodeAddress(carolAddress).relayHints, [RELAY]);
    const typo = carolAddress.slice(0, -12) + (carolAddress.at(-12) === 'q' ? 'p' : 'q') + carolAddress.slice(-11);

    const [addr, added, mistyped, unknown, wrongPw, noPw, walletAddr] = await Promise.all([
      carol(['address']),
      alice(['contact', 'add', 'carol', carolAddress]),
      alice(['contact', 'add', 'carl', typo]),
      alice(['contact', 'show', 'dave', '--json']),
      alice(['contact', 'list'], { SATPOST_PASSPHRASE: 'not my passphrase' }),
      alice(['contact', 'list'], { SATPOST_PASSPHRASE: undefined }),
      alice(['wallet', 'address', '--json']),
    ]);
    assert.deepEqual(addr, { code: 0, stdout: `${carolAddress}\n`, stderr: '' });
    assert.deepEqual(added, { code: 0, stdout: `added contact carol (fingerprint ${carolInit.fingerprint as string})\n`, stderr: '' });
    assert.deepEqual(mistyped, {
      code: 1,
      stdout: '',
      stderr:
        'error [INVALID_ADDRESS]: invalid satpost address: address checksum does not match (mistyped?); ' +
        'ask its owner for it again (copy and paste it rather than retyping)\n',
    });
    assert.deepEqual(unknown, { code: 1, stdout: '{"error":{"code":"UNKNOWN_CONTACT","message":"no contact named \\"dave\\""}}\n', stderr: '' });
    assert.deepEqual(wrongPw, {
      code: 1,
      stdout: '',
      stderr: `error [WRONG_PASSPHRASE]: wrong passphrase for ${aliceDir}; try again or set SATPOST_PASSPHRASE\n`,
    });
    assert.deepEqual(noPw, {
      code: 1,
      stdout: '',
      stderr:
        `error [PASSPHRASE_REQUIRED]: a passphrase for ${aliceDir} is needed and there is no terminal to ask for it on; ` +
        'set SATPOST_PASSPHRASE, or run the command in a terminal\n',
    });
    assert.equal(walletAddr.code, 0, walletAddr.stderr);
    const { address: walletAddress } = JSON.parse(walletAddr.stdout) as { address: string };
    assert.match(walletAddress, /^bcrt1q[02-9ac-hj-np-z]{38}$/);

    await devPost(devnet.url, '/dev/faucet', { address: walletAddress, sats: 250_000 });
    await devPost(devnet.url, '/dev/mine', { blocks: 1 });
    const [balance, list] = await Promise.all([alice(['wallet', 'balance']), alice(['contact', 'list', '--json'])]);
    assert.deepEqual({ ...balance, stderr: '' }, { code: 0, stdout: 'confirmed:    250,000 sat\nunconfirmed:  0 sat\n', stderr: '' });
    assert.match(balance.stderr, /^syncing the wallet with http:\/\/127\.0\.0\.1:[0-9]+\/?\.\.\.\n$/, 'the one step, on stderr although it is not a terminal');
    assert.equal(list.code, 0, list.stderr);
    const contacts = (JSON.parse(list.stdout) as { contacts: { name: string; address: string; keyChange: unknown }[] }).contacts;
    assert.deepEqual(contacts.map((x) => [x.name, x.address, x.keyChange]), [['carol', carolAddress, null]]);
    assert.notEqual(aliceAddress, carolAddress);
  });

  it('address without a passphrase (none in the env, stdin closed): the public address, and no contact in the plain file', async () => {
    const dir = join(root, 'public');
    const env = baseEnv({ SATPOST_PASSPHRASE: 'public pw' });
    const initIn = (d: string) => run(['init', '--data-dir', d, '--relay', RELAY, '--chain', devnet.url, '--json'], env);
    const [mine, friend] = await Promise.all([initIn(dir), initIn(join(root, 'public-friend'))]);
    const init = json<{ address: string; fingerprint: string }>(mine);
    const added = await run(['contact', 'add', 'friendofmine', json<{ address: string }>(friend).address, '--data-dir', dir], env);
    assert.equal(added.code, 0, added.stderr);
    const noPw = baseEnv();
    assert.deepEqual(await run(['address', '--data-dir', dir], noPw), { code: 0, stdout: `${init.address}\n`, stderr: '' });
    const shown = json<{ address: string; fingerprint: string; identityKey: string }>(await run(['address', '--json', '--data-dir', dir], noPw));
    assert.deepEqual(shown, { address: init.address, fingerprint: init.fingerprint, identityKey: Buffer.from(decodeAddress(init.address).identityKey).toString('hex') });
    assert.match(shown.identityKey, /^05[0-9a-f]{64}$/, 'the identity key a relay must never see, in hex');
    const wrongNet = await run(['address', '--network', 'mainnet', '--json', '--data-dir', dir], noPw);
    assert.equal(wrongNet.code, 1);
    assert.equal((JSON.parse(wrongNet.stdout) as { error: { code: string } }).error.code, 'NETWORK_MISMATCH');
    const plain = join(dir, 'public.json');
    assert.equal(statSync(plain).mode & 0o777, 0o600);
    assert.ok(!readFileSync(plain, 'utf8').includes('friendofmine'), 'a contact name leaked into public.json');

    // A directory from before public.json: unlocked once (that writes the file), then public again.
    rmSync(plain);
    assert.equal((await run(['address', '--json', '--data-dir', dir], noPw)).stdout, '{"error":{"code":"PASSPHRASE_REQUIRED","message":"a passphrase for ' + dir + ' is needed and there is no terminal to ask for it on"}}\n');
    assert.equal(json<{ address: string }>(await run(['address', '--json', '--data-dir', dir], env)).address, init.address);
    assert.deepEqual(await run(['address', '--data-dir', dir], noPw), { code: 0, stdout: `${init.address}\n`, stderr: '' });
  });

  it('asks for the passphrase twice on a terminal without echoing it', async () => {
    const dir = join(root, 'typed');
    const r = await runOnTerminal(['init', '--data-dir', dir, '--chain', devnet.url], baseEnv(), [
      { prompt: `new passphrase for ${dir}: `, type: 'typed secret\r' },
      { prompt: 'repeat the passphrase: ', type: 'typed secret\r' },
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(!r.stdout.includes('typed secret'), `the passphrase was echoed: ${JSON.stringify(r.stdout.slice(0, 400))}`);
    assert.match(r.stdout, /initialized satpost in /);
    const client = await Client.open({ dir, passphrase: 'typed secret' });
    client.close();
  });
});
