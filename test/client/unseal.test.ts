// Client.unseal / Client.open({ secrets }): what an unlock agent holds instead of the
// passphrase, and that opening with it derives no key and opens only its own directory.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Client, type ClientSecrets } from '../../src/client/client.ts';
import { ClientError } from '../../src/client/errors.ts';
import { scryptDerivations } from '../../src/core/secretbox.ts';
import { IdentityError } from '../../src/identity/errors.ts';
import { identityFromPrivateKey } from '../../src/identity/identity.ts';
import { openIdentityDb } from '../../src/identity/db.ts';
import { unlockDataKey } from '../../src/store/data-key.ts';
import { StoreError } from '../../src/store/sqlite.ts';
import { Wallet } from '../../src/wallet/wallet.ts';
import { WalletError } from '../../src/wallet/errors.ts';
import { openPartyDb } from '../../src/watch/index.ts';
import { LIGHT_SCRYPT, tempDir } from './helpers.ts';

describe('Client.unseal and opening with the unsealed secrets', { timeout: 120_000 }, () => {
  const tmp = tempDir('satpost-unseal-');
  const dirOf = (name: string) => join(tmp.dir, name);
  // Never contacted: opening needs no chain.
  const common = { network: 'regtest' as const, chainUrl: 'http://127.0.0.1:9', scrypt: LIGHT_SCRYPT };
  let alice: ClientSecrets;
  let bob: ClientSecrets;

  before(async () => {
    for (const name of ['alice', 'bob']) (await Client.init({ dir: dirOf(name), passphrase: `pw-${name}`, ...common })).client.close();
    alice = await Client.unseal({ dir: dirOf('alice'), passphrase: 'pw-alice' });
    bob = await Client.unseal({ dir: dirOf('bob'), passphrase: 'pw-bob' });
  });
  after(() => tmp.cleanup());

  it('unseal derives three keys; opening with what it returned derives none and is the same user', async () => {
    const before = scryptDerivations();
    const withPassphrase = await Client.open({ dir: dirOf('alice'), passphrase: 'pw-alice' });
    assert.equal(scryptDerivations() - before, 3);
    const address = withPassphrase.address();
    await withPassphrase.close();

    const at = scryptDerivations();
    const client = await Client.open({ dir: dirOf('alice'), secrets: alice });
    assert.equal(scryptDerivations() - at, 0);
    assert.equal(client.address(), address);
    assert.deepEqual(client.contacts(), []);
    await client.close();
    assert.deepEqual(alice.dataKey, unlockDataKey(dirOf('alice'), 'pw-alice'));
  });

  it('a wrong passphrase is WRONG_PASSPHRASE at unseal; neither passphrase nor secrets is refused', async () => {
    await assert.rejects(Client.unseal({ dir: dirOf('alice'), passphrase: 'nope' }), (e) => ClientError.is(e, 'WRONG_PASSPHRASE'));
    await assert.rejects(Client.open({ dir: dirOf('alice') }), (e) => ClientError.is(e, 'EMPTY_PASSPHRASE'));
  });

  it("another directory's keys do not open this one", async () => {
    // Bob's data key cannot read alice's databases.
    await assert.rejects(Client.open({ dir: dirOf('alice'), secrets: bob }), (e) => StoreError.is(e, 'UNREADABLE'));
    // Alice's data key with bob's identity key or wallet seed: refused as not hers.
    const db = openIdentityDb(join(dirOf('alice'), 'identity.sqlite'), { key: alice.dataKey });
    try {
      assert.throws(() => identityFromPrivateKey(db, bob.identityKey), (e) => IdentityError.is(e, 'CORRUPT_IDENTITY'));
    } finally {
      db.close();
    }
    const wdb = openPartyDb(join(dirOf('alice'), 'wallet.sqlite'), alice.dataKey);
    try {
      assert.throws(() => Wallet.open({ db: wdb, secret: bob.walletSecret }), (e) => WalletError.is(e, 'CORRUPT_WALLET'));
      assert.throws(() => Wallet.open({ db: wdb, secret: new TextEncoder().encode('not json') }), (e) => WalletError.is(e, 'CORRUPT_WALLET'));
      assert.throws(() => Wallet.open({ db: wdb }), (e) => WalletError.is(e, 'NO_PASSPHRASE'));
      assert.equal(Wallet.open({ db: wdb, secret: alice.walletSecret }).network.name, 'regtest');
    } finally {
      wdb.close();
    }
  });

  it('opened with the secrets, the wallet keys are derived and checked at first use; the identity is checked at once, libsignal keys made at first use', () => {
    const wdb = openPartyDb(join(dirOf('alice'), 'wallet.sqlite'), alice.dataKey);
    try {
      const checked = Wallet.open({ db: wdb, secret: alice.walletSecret }).accountXpub;
      // Not hers: opens, and the first use of a key is refused as the eager check refuses it.
      const wrong = Wallet.open({ db: wdb, secret: bob.walletSecret, deferKeys: true });
      assert.throws(() => wrong.accountXpub, (e) => WalletError.is(e, 'CORRUPT_WALLET'));
      assert.throws(() => wrong.contractKey(0), (e) => WalletError.is(e, 'CORRUPT_WALLET'));
      assert.equal(Wallet.open({ db: wdb, secret: alice.walletSecret, deferKeys: true }).accountXpub, checked);
    } finally {
      wdb.close();
    }
    const db = openIdentityDb(join(dirOf('alice'), 'identity.sqlite'), { key: alice.dataKey });
    try {
      const id = identityFromPrivateKey(db, alice.identityKey);
      assert.deepEqual(id.keyPair.publicKey.serialize(), id.publicKey);
      assert.deepEqual(id.keyPair.privateKey.serialize(), alice.identityKey);
      assert.throws(() => identityFromPrivateKey(db, alice.identityKey.subarray(1)), (e) => IdentityError.is(e, 'CORRUPT_IDENTITY'));
    } finally {
      db.close();
    }
  });
});
