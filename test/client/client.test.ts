// The client SDK over real files and a real (in-process) devnet reached over HTTP.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '../../src/client/client.ts';
import { ClientError } from '../../src/client/errors.ts';
import { DataDir } from '../../src/client/datadir.ts';
import { decodeAddress, encodeAddress } from '../../src/identity/address.ts';
import { WalletError } from '../../src/wallet/errors.ts';
import { LIGHT_SCRYPT, startChain, tempDir, type Chain } from './helpers.ts';

const RELAY = 'http://127.0.0.1:8090/';

function assertClientError(code: ClientError['code'], reason?: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ClientError, `expected ClientError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (reason !== undefined) assert.equal(err.reason, reason);
    return true;
  };
}

/** Changes one data character of a bech32 string to another valid one: a typo. */
function typo(address: string): string {
  const i = address.length - 10;
  const c = address[i] === 'q' ? 'p' : 'q';
  return address.slice(0, i) + c + address.slice(i + 1);
}

describe('client SDK', { timeout: 120_000 }, () => {
  let chain: Chain;
  const tmp = tempDir('satpost-client-');
  const opened: Client[] = [];
  const init = async (name: string, extra: { relays?: string[]; passphrase?: string } = {}) => {
    const r = await Client.init({
      dir: join(tmp.dir, name),
      passphrase: extra.passphrase ?? `pw-${name}`,
      network: 'regtest',
      chainUrl: chain.url,
      relays: extra.relays ?? [RELAY],
      scrypt: LIGHT_SCRYPT,
    });
    opened.push(r.client);
    return r;
  };

  before(async () => {
    chain = await startChain();
  });
  after(async () => {
    for (const c of opened) c.close();
    await chain.close();
    tmp.cleanup();
  });

  it('init creates a private data directory, a recovery phrase and an address that round-trips', async () => {
    const { client, mnemonic } = await init('alice', { relays: ['http://127.0.0.1:8090', 'https://relay.example/a/'] });
    const dir = join(tmp.dir, 'alice');
    assert.equal(mnemonic.split(' ').length, 12);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const files = readdirSync(dir).sort();
    for (const f of ['client.sqlite', 'config.json', 'identity.sqlite', 'wallet.sqlite']) assert.ok(files.includes(f), f);
    assert.ok(!files.includes('init.pending'));
    for (const f of files) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);

    const a = decodeAddress(client.address(), { expectNetwork: 'regtest' });
    assert.deepEqual(a.relayHints, ['http://127.0.0.1:8090/', 'https://relay.example/a/']);
    assert.equal(client.relays.length, 2);
    assert.match(client.fingerprint(), /^([0-9a-f]{5} ){7}[0-9a-f]{5}$/);
    const address = client.address();
    client.close();
    assert.throws(() => client.address(), assertClientError('CLIENT_CLOSED'));

    const again = await Client.open({ dir, passphrase: 'pw-alice' });
    opened.push(again);
    assert.equal(again.address(), address);
    assert.equal(again.network, 'regtest');
    assert.equal(again.chainUrl, chain.url);
    await assert.rejects(init('alice'), assertClientError('ALREADY_INITIALIZED'));
  });

  it('open refuses a wrong passphrase, an empty directory and another network', async () => {
    await init('bob');
    const dir = join(tmp.dir, 'bob');
    await assert.rejects(Client.open({ dir, passphrase: 'not-it' }), (e: unknown) => {
      assertClientError('WRONG_PASSPHRASE')(e);
      assert.equal((e as Error).message, `wrong passphrase for ${dir}`);
      return true;
    });
    await assert.rejects(Client.open({ dir, passphrase: 'pw-bob', network: 'signet' }), assertClientError('NETWORK_MISMATCH'));
    await assert.rejects(Client.open({ dir: join(tmp.dir, 'nobody'), passphrase: 'x' }), assertClientError('NOT_INITIALIZED'));
    mkdirSync(join(tmp.dir, 'empty'));
    await assert.rejects(Client.open({ dir: join(tmp.dir, 'empty'), passphrase: 'x' }), assertClientError('NOT_INITIALIZED'));
  });

  it('init validates everything before touching the disk', async () => {
    const base = { passphrase: 'pw', network: 'regtest' as const, chainUrl: chain.url, scrypt: LIGHT_SCRYPT };
    const dir = join(tmp.dir, 'invalid');
    await assert.rejects(Client.init({ ...base, dir, relays: ['ftp://relay.example'] }), assertClientError('BAD_RELAY_URL'));
    await assert.rejects(Client.init({ ...base, dir, relays: ['not a url'] }), assertClientError('BAD_RELAY_URL'));
    await assert.rejects(Client.init({ ...base, dir, chainUrl: 'localhost:3002' }), assertClientError('BAD_CHAIN_URL'));
    await assert.rejects(Client.init({ ...base, dir, passphrase: '' }), assertClientError('EMPTY_PASSPHRASE'));
    await assert.rejects(Client.init({ ...base, dir, network: 'regtset' as 'regtest' }), assertClientError('NETWORK_MISMATCH'));
    assert.equal(existsSync(dir), false);
  });

  it('an interrupted init is reported, then completed by the next init; foreign leftovers are not deleted', async () => {
    const dir = join(tmp.dir, 'crashed');
    // What a crash after the identity was created leaves behind.
    const dd = new DataDir(dir);
    dd.ensure();
    dd.beginInit();
    writeFileSync(dd.createPrivateFile('identity'), 'half-written');
    assert.equal(dd.state(), 'interrupted');
    await assert.rejects(Client.open({ dir, passphrase: 'pw' }), assertClientError('INIT_INCOMPLETE'));
    const { client } = await Client.init({ dir, passphrase: 'pw', network: 'regtest', chainUrl: chain.url, scrypt: LIGHT_SCRYPT });
    opened.push(client);
    assert.equal(dd.state(), 'initialized');
    decodeAddress(client.address());

    const damaged = join(tmp.dir, 'damaged');
    mkdirSync(damaged);
    writeFileSync(join(damaged, 'wallet.sqlite'), 'somebody else\'s');
    await assert.rejects(Client.open({ dir: damaged, passphrase: 'pw' }), assertClientError('BAD_DATA_DIR'));
    await assert.rejects(
      Client.init({ dir: damaged, passphrase: 'pw', network: 'regtest', chainUrl: chain.url, scrypt: LIGHT_SCRYPT }),
      assertClientError('BAD_DATA_DIR'),
    );
    assert.deepEqual(readdirSync(damaged), ['wallet.sqlite']);
  });

  it('contacts: add, list, look up by any case, and refuse unknown, mistyped, duplicate and foreign addresses', async () => {
    const { client: alice } = await init('alice2');
    const { client: carol } = await init('carol');
    const { client: dave } = await init('dave');
    const added = await alice.addContact('Carol', carol.address());
    assert.equal(added.name, 'Carol');
    assert.equal(added.address, carol.address());
    assert.equal(added.fingerprint, carol.fingerprint());
    assert.equal(added.keyChange, null);
    assert.deepEqual(added.relayHints, [RELAY]);
    assert.deepEqual(alice.contact('carol'), added);
    await alice.addContact('dave', dave.address());
    assert.deepEqual(alice.contacts().map((c) => c.name), ['Carol', 'dave']);

    assert.throws(() => alice.contact('carl'), assertClientError('UNKNOWN_CONTACT'));
    await assert.rejects(alice.addContact('carl', typo(carol.address())), (e: unknown) => {
      assertClientError('INVALID_ADDRESS', 'BAD_CHECKSUM')(e);
      assert.match((e as Error).message, /^invalid satpost address: address checksum does not match \(mistyped\?\)$/);
      return true;
    });
    await assert.rejects(alice.addContact('CAROL', dave.address()), assertClientError('CONTACT_EXISTS'));
    await assert.rejects(alice.addContact('carol2', carol.address()), assertClientError('CONTACT_EXISTS'));
    await assert.rejects(alice.addContact('me', alice.address()), assertClientError('INVALID_ADDRESS', 'OWN_ADDRESS'));
    const signet = encodeAddress({ network: 'signet', identityKey: decodeAddress(carol.address()).identityKey, relayHints: [] });
    await assert.rejects(alice.addContact('erin', signet), assertClientError('INVALID_ADDRESS', 'WRONG_NETWORK'));
    await assert.rejects(alice.addContact('-rf', dave.address()), assertClientError('INVALID_NAME'));
    await assert.rejects(alice.addContact('two words', dave.address()), assertClientError('INVALID_NAME'));
    assert.equal(alice.contacts().length, 2);
  });

  it('a contact whose identity key changes is flagged until trusted, across a restart', async () => {
    const { client: alice } = await init('alice3');
    const { client: carol } = await init('carol-old');
    const { client: carolNew } = await init('carol-new', { relays: ['https://new.example/'] });
    await alice.addContact('carol', carol.address());
    await assert.rejects(alice.trustContact('carol'), assertClientError('NO_KEY_CHANGE'));

    // Same key, new relays: just an update.
    const moved = encodeAddress({ network: 'regtest', identityKey: decodeAddress(carol.address()).identityKey, relayHints: ['https://moved.example/'] });
    assert.deepEqual((await alice.updateContact('carol', moved)).relayHints, ['https://moved.example/']);

    await assert.rejects(alice.updateContact('carol', carolNew.address()), (e: unknown) => {
      assertClientError('CONTACT_KEY_CHANGED')(e);
      assert.deepEqual((e as ClientError).change, { contact: 'carol', trustedFingerprint: carol.fingerprint(), newFingerprint: carolNew.fingerprint() });
      return true;
    });
    alice.close();
    const reopened = await Client.open({ dir: join(tmp.dir, 'alice3'), passphrase: 'pw-alice3' });
    opened.push(reopened);
    const flagged = reopened.contact('carol');
    assert.deepEqual(flagged.keyChange, { trustedFingerprint: carol.fingerprint(), newFingerprint: carolNew.fingerprint() });
    assert.equal(flagged.address, moved, 'the old key stays in use until trusted');
    assert.throws(() => reopened.trustedContact('carol'), assertClientError('CONTACT_KEY_CHANGED'));

    const trusted = await reopened.trustContact('carol');
    assert.equal(trusted.address, carolNew.address());
    assert.equal(trusted.keyChange, null);
    assert.equal(reopened.trustedContact('Carol').fingerprint, carolNew.fingerprint());
    await assert.rejects(reopened.trustContact('carol'), assertClientError('NO_KEY_CHANGE'));
    await assert.rejects(reopened.updateContact('nobody', carol.address()), assertClientError('UNKNOWN_CONTACT'));
  });

  it('wallet: a faucet payment shows in the balance, and the client pays another client', async () => {
    const { client: alice } = await init('payer');
    const { client: carol } = await init('payee');
    const fundTxid = chain.fund(alice.walletAddress(), 100_000);
    const b = await alice.balance();
    assert.deepEqual(b, { confirmed: 100_000, unconfirmed: 0, immature: 0, reserved: 0, lockedInContracts: 0 });

    await assert.rejects(alice.sendBitcoin(carol.walletAddress(), 200_000, { feeRate: 2 }), (e: unknown) => WalletError.is(e, 'INSUFFICIENT_FUNDS'));
    await assert.rejects(alice.sendBitcoin('bcrt1notanaddress', 1000), (e: unknown) => WalletError.is(e, 'BAD_ADDRESS'));
    const sent = await alice.sendBitcoin(carol.walletAddress(), 30_000, { feeRate: 2 });
    assert.equal(sent.amount, 30_000);
    assert.equal(sent.feeRate, 2);
    // The fee is costed with the largest signature (72 bytes); a shorter low-R signature can make
    // the signed transaction a vbyte smaller, never larger.
    assert.ok(sent.fee >= sent.vsize * 2 && sent.fee <= (sent.vsize + 1) * 2, `fee ${sent.fee} for ${sent.vsize} vB at 2 sat/vB`);
    chain.devnet.mine(1);

    assert.equal((await carol.balance()).confirmed, 30_000);
    assert.equal((await alice.balance()).confirmed, 70_000 - sent.fee);
    const history = await alice.history();
    assert.deepEqual(
      history.map((h) => [h.txid, h.net]).sort(),
      [
        [fundTxid, 100_000],
        [sent.txid, -30_000 - sent.fee],
      ].sort(),
    );
  });
});
