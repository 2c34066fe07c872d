import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { hex } from '@scure/base';
import { WIF } from '@scure/btc-signer';
import { NETWORKS } from '../../src/core/network.ts';
import { mnemonicToSeedSync } from '@scure/bip39';
import { WalletKeys, checkMnemonic, generateMnemonic, mnemonicToSeed } from '../../src/wallet/keys.ts';
import { WalletError } from '../../src/wallet/errors.ts';
import { addressToScript } from '../../src/wallet/address.ts';

interface Vectors {
  valid: {
    mnemonic: string;
    bip39Passphrase: string;
    network: 'mainnet';
    masterFingerprint: string;
    accountXprv: string;
    accountXpub: string;
    keys: { chain: 0 | 1; index: number; path: string; pubkey: string; wif: string; address: string }[];
  }[];
  invalid: { mnemonic: string; error: string; why: string }[];
}
const vectors = JSON.parse(readFileSync(new URL('./vectors/bip84.json', import.meta.url), 'utf8')) as Vectors;
const ABANDON = vectors.valid[0]!.mnemonic;

test('BIP84 vectors: account keys, addresses, public and private keys', () => {
  for (const v of vectors.valid) {
    const keys = new WalletKeys(v.mnemonic, v.bip39Passphrase, NETWORKS[v.network]);
    assert.equal(keys.accountXpub, v.accountXpub);
    assert.equal(keys.accountXprv, v.accountXprv);
    assert.equal(keys.masterFingerprint.toString(16).padStart(8, '0'), v.masterFingerprint);
    for (const k of v.keys) {
      assert.equal(keys.address(k.chain, k.index).address, k.address, k.path);
      const pair = keys.walletKey(k.chain, k.index);
      assert.equal(pair.path, k.path);
      assert.equal(hex.encode(pair.pubkey33), k.pubkey);
      assert.equal(WIF(NETWORKS.mainnet).encode(pair.privkey32), k.wif);
    }
  }
});

test('invalid mnemonics are refused with BAD_MNEMONIC', () => {
  for (const v of vectors.invalid) {
    assert.throws(() => checkMnemonic(v.mnemonic), (e) => WalletError.is(e, 'BAD_MNEMONIC'), v.why);
    assert.throws(() => new WalletKeys(v.mnemonic, '', NETWORKS.regtest), (e) => WalletError.is(e, 'BAD_MNEMONIC'), v.why);
  }
});

test('mnemonics are normalised (case, spacing) and generated with 12 or 24 valid words', () => {
  assert.equal(checkMnemonic(`  ${ABANDON.toUpperCase().replace(/ /g, '   ')}\n`), ABANDON);
  let counter = 0;
  const rnd = (n: number) => Uint8Array.from({ length: n }, () => counter++ & 0xff);
  for (const words of [12, 24] as const) {
    const m = generateMnemonic(rnd, words);
    assert.equal(m.split(' ').length, words);
    assert.equal(checkMnemonic(m), m);
  }
  assert.throws(() => generateMnemonic(rnd, 18 as 12), (e) => WalletError.is(e, 'BAD_MNEMONIC'));
});

test('the native BIP39 seed is the reference one (BIP39 vector, and @scure/bip39 on other passphrases)', () => {
  // The Trezor BIP39 vector: "abandon ... about" with passphrase TREZOR.
  assert.equal(
    hex.encode(mnemonicToSeed(ABANDON, 'TREZOR')),
    'c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04',
  );
  for (const pass of ['', 'TREZOR', 'pässphrase', 'ｐａｓｓ', '密码']) {
    assert.deepEqual(mnemonicToSeed(ABANDON, pass), mnemonicToSeedSync(ABANDON, pass), pass);
  }
});

test('the BIP39 passphrase changes every key', () => {
  const a = new WalletKeys(ABANDON, '', NETWORKS.mainnet);
  const b = new WalletKeys(ABANDON, 'TREZOR', NETWORKS.mainnet);
  assert.notEqual(a.accountXpub, b.accountXpub);
  assert.notEqual(a.address(0, 0).address, b.address(0, 0).address);
});

test('test networks use coin type 1, vpub and their own address prefix', () => {
  const keys = new WalletKeys(ABANDON, '', NETWORKS.regtest);
  assert.match(keys.accountXpub, /^vpub/);
  assert.match(keys.address(0, 0).address, /^bcrt1q/);
  assert.equal(keys.walletKey(1, 7).path, "m/84'/1'/0'/1/7");
  // Coin type 1 gives other keys than mainnet's coin type 0, not just another prefix.
  assert.notDeepEqual(keys.walletKey(0, 0).pubkey33, new WalletKeys(ABANDON, '', NETWORKS.mainnet).walletKey(0, 0).pubkey33);
});

test('contract keys sit on their own hardened branch and differ from wallet keys', () => {
  const keys = new WalletKeys(ABANDON, '', NETWORKS.mainnet);
  const c0 = keys.contractKey(0);
  const c1 = keys.contractKey(1);
  assert.equal(c0.path, "m/1017'/0'/0'/0'");
  assert.equal(c0.pubkey33.length, 33);
  assert.equal(c0.privkey32.length, 32);
  assert.notDeepEqual(c0.pubkey33, c1.pubkey33);
  assert.notDeepEqual(c0.pubkey33, keys.walletKey(0, 0).pubkey33);
  // Deterministic: the same seed gives the same contract key.
  assert.deepEqual(new WalletKeys(ABANDON, '', NETWORKS.mainnet).contractKey(1).pubkey33, c1.pubkey33);
  for (const bad of [-1, 1.5, 2 ** 31, Number.NaN]) {
    assert.throws(() => keys.contractKey(bad), (e) => WalletError.is(e, 'BAD_INDEX'), String(bad));
  }
});

test('addresses of another network or with a bad checksum are refused with BAD_ADDRESS', () => {
  const mainnetAddr = 'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu';
  assert.equal(hex.encode(addressToScript(mainnetAddr, NETWORKS.mainnet)), '0014c0cebcd6c3d3ca8c75dc5ec62ebe55330ef910e2');
  assert.throws(
    () => addressToScript(mainnetAddr, NETWORKS.regtest),
    (e) => WalletError.is(e, 'BAD_ADDRESS') && /mainnet/.test((e as Error).message),
  );
  assert.throws(() => addressToScript(mainnetAddr.slice(0, -1) + 'v', NETWORKS.mainnet), (e) => WalletError.is(e, 'BAD_ADDRESS'));
  assert.throws(() => addressToScript('', NETWORKS.mainnet), (e) => WalletError.is(e, 'BAD_ADDRESS'));
  assert.throws(() => addressToScript('not an address', NETWORKS.mainnet), (e) => WalletError.is(e, 'BAD_ADDRESS'));
});
