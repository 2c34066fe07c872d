// Issue 14: outside regtest the client refuses plain http/ws relay and chain URLs (config
// time, address parse time, connect time), except .onion hosts through a proxy.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { IdentityKeyPair } from '@signalapp/libsignal-client';
import { Client } from '../../src/client/client.ts';
import { makeConfig, parseConfig } from '../../src/client/config.ts';
import { RelayClient } from '../../src/client/relay-client.ts';
import { encodeAddress } from '../../src/identity/address.ts';
import { LIGHT_SCRYPT, rejectsWith, tempDir } from './helpers.ts';

describe('http relay and chain URLs on mainnet settings', { timeout: 60_000 }, () => {
  const tmp = tempDir('satpost-insecure-');
  after(() => tmp.cleanup());

  it('http relay and chain URLs are refused on mainnet settings', async () => {
    const https = { chainUrl: 'https://blockstream.info/api' };
    // Config time: init, and a hand-edited config.json.
    await assert.rejects(
      Client.init({ dir: join(tmp.dir, 'a'), passphrase: 'pw', network: 'mainnet', chainUrl: 'http://blockstream.info/api', scrypt: LIGHT_SCRYPT }),
      rejectsWith('INSECURE_CHAIN_URL'),
    );
    await assert.rejects(
      Client.init({ dir: join(tmp.dir, 'b'), passphrase: 'pw', network: 'mainnet', ...https, relays: ['http://relay.example'], scrypt: LIGHT_SCRYPT }),
      rejectsWith('INSECURE_RELAY_URL'),
    );
    assert.throws(() => parseConfig({ version: 1, network: 'mainnet', ...https, relays: ['http://relay.example'] }, 'config.json'), rejectsWith('INSECURE_RELAY_URL'));
    assert.throws(() => parseConfig({ version: 1, network: 'mainnet', chainUrl: 'http://esplora.example', relays: [] }, 'config.json'), rejectsWith('INSECURE_CHAIN_URL'));
    // A .onion relay over http: only through a proxy (Tor authenticates and encrypts it).
    const onion = `http://${'a'.repeat(56)}.onion`;
    assert.throws(() => makeConfig({ network: 'mainnet', ...https, relays: [onion] }), rejectsWith('INSECURE_RELAY_URL'));
    assert.deepEqual(makeConfig({ network: 'mainnet', ...https, relays: [onion], proxy: 'socks5h://127.0.0.1:9050' }).relays, [`${onion}/`]);
    assert.throws(() => makeConfig({ network: 'mainnet', ...https, relays: ['http://relay.example'], proxy: 'socks5h://127.0.0.1:9050' }), rejectsWith('INSECURE_RELAY_URL'));
    assert.throws(() => makeConfig({ network: 'mainnet', ...https, proxy: 'http://127.0.0.1:9050' }), rejectsWith('BAD_PROXY_URL'));
    // regtest (the local devnet) keeps plain http.
    assert.deepEqual(makeConfig({ network: 'regtest', chainUrl: 'http://127.0.0.1:3002', relays: ['http://127.0.0.1:8090'] }).relays, ['http://127.0.0.1:8090/']);

    // Connect time: nothing is sent to a plain http relay on mainnet, not even a TCP connection.
    let connections = 0;
    const listener = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
      const rc = new RelayClient(url, { network: 'mainnet' });
      await assert.rejects(rc.info(), rejectsWith('INSECURE_RELAY_URL'));
      await assert.rejects(rc.subscribe([new Uint8Array(32)], () => undefined), rejectsWith('INSECURE_RELAY_URL'));
      assert.equal(connections, 0);
    } finally {
      await new Promise((resolve) => listener.close(resolve));
    }

    // Address parse time: a contact whose address hints a plain http relay is refused, nothing saved.
    const { client } = await Client.init({ dir: join(tmp.dir, 'c'), passphrase: 'pw', network: 'mainnet', ...https, relays: ['https://relay.example'], scrypt: LIGHT_SCRYPT });
    try {
      const bob = encodeAddress({ network: 'mainnet', identityKey: IdentityKeyPair.generate().publicKey.serialize(), relayHints: ['http://relay.example'] });
      await assert.rejects(async () => client.addContact('bob', bob), rejectsWith('INSECURE_RELAY_URL'));
      assert.equal(client.contacts().length, 0);
    } finally {
      await client.close();
    }
  });
});
