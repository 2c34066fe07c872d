/**
 * Wallet keys: BIP39 mnemonic -> BIP32 root -> BIP84 account (P2WPKH) plus a separate
 * branch for contract keys.
 *
 *   m/84'/coin'/0'/0/i    receive addresses (BIP84 external chain)
 *   m/84'/coin'/0'/1/i    change addresses (BIP84 internal chain)
 *   m/1017'/coin'/0'/i'   contract (HTLC) keys, every level hardened: a payer's contract keys,
 *                         channel keys (a relay's from 2^30 up), and a relay's per-quote keys
 *                         issued before they had their own account (below 2^30)
 *   m/1017'/coin'/1'/i'   a relay's per-quote contract keys: their own account, so that no
 *                         number of quotes ever reaches the channel keys
 *
 * Contract keys live outside the BIP84 account on purpose: the account's zpub may be
 * exported to a watch-only tool, and a non-hardened contract branch under it would let
 * that tool link every contract key (they appear in on-chain scripts and in quotes) to the
 * wallet. Hardened leaves also mean one leaked contract private key reveals nothing about
 * the others. Nothing needs to derive contract public keys without the seed, so the cost
 * of hardening is nil. Purpose 1017' follows LND's keychain for "protocol keys"; LND uses an
 * aezeed rather than a BIP39 seed, so the same mnemonic never meets both.
 */
import { HDKey, HARDENED_OFFSET } from '@scure/bip32';
import { pbkdf2Sync } from 'node:crypto';
import { entropyToMnemonic, validateMnemonic } from '@scure/bip39';
import { wordlist as english } from '@scure/bip39/wordlists/english.js';
import { p2wpkh } from '@scure/btc-signer';
import { expected } from '../core/errors.ts';
import type { BtcNetwork } from '../core/network.ts';
import { WalletError } from './errors.ts';

export type Chain = 0 | 1;
export const RECEIVE: Chain = 0;
export const CHANGE: Chain = 1;
export const CONTRACT_PURPOSE = 1017;
/** Account of contract and channel keys (m/1017'/coin'/0'). */
export const CONTRACT_ACCOUNT = 0;
/** Account of a relay's per-quote contract keys (m/1017'/coin'/1'). */
export const QUOTE_KEY_ACCOUNT = 1;
/** BIP44 index limit: non-hardened indexes are below 2^31. */
export const MAX_INDEX = HARDENED_OFFSET - 1;

/** SLIP-132 version bytes so the account key reads zpub/vpub like other BIP84 wallets. */
const BIP84_VERSIONS = {
  mainnet: { private: 0x04b2430c, public: 0x04b24746 }, // zprv / zpub
  test: { private: 0x045f18bc, public: 0x045f1cf6 }, // vprv / vpub
};

export function normalizeMnemonic(mnemonic: string): string {
  return mnemonic.normalize('NFKD').trim().toLowerCase().split(/\s+/).join(' ');
}

/** A fresh English mnemonic of 12 or 24 words from caller-supplied randomness. */
export function generateMnemonic(randomBytes: (n: number) => Uint8Array, words: 12 | 24 = 12): string {
  if (words !== 12 && words !== 24) throw new WalletError('BAD_MNEMONIC', expected('words', '12 or 24', words));
  return entropyToMnemonic(randomBytes(words === 12 ? 16 : 32), english);
}

/**
 * BIP39 seed: PBKDF2-HMAC-SHA512(NFKD mnemonic, "mnemonic" + NFKD passphrase, 2048, 64), as
 * @scure/bip39's mnemonicToSeedSync computes it, but with Node's native PBKDF2: the pure-JS one
 * took a large part of every command's start (test/wallet/keys.test.ts checks the BIP39 vectors).
 */
export function mnemonicToSeed(mnemonic: string, bip39Passphrase: string): Uint8Array {
  const salt = Buffer.from('mnemonic' + bip39Passphrase.normalize('NFKD'), 'utf8');
  return new Uint8Array(pbkdf2Sync(Buffer.from(mnemonic.normalize('NFKD'), 'utf8'), salt, 2048, 64, 'sha512'));
}

/** Checks word count, words and checksum; returns the normalised phrase. */
export function checkMnemonic(mnemonic: string): string {
  const m = normalizeMnemonic(mnemonic);
  const count = m === '' ? 0 : m.split(' ').length;
  if (count !== 12 && count !== 24) {
    throw new WalletError('BAD_MNEMONIC', expected('mnemonic', '12 or 24 English BIP39 words', `${count} words`));
  }
  if (!validateMnemonic(m, english)) {
    throw new WalletError('BAD_MNEMONIC', 'mnemonic has an unknown word or a wrong checksum');
  }
  return m;
}

export interface KeyPair {
  /** 33-byte compressed secp256k1 public key. */
  pubkey33: Uint8Array;
  /** 32-byte private key. Never log or persist it unencrypted. */
  privkey32: Uint8Array;
  path: string;
}

interface Derived {
  masterFingerprint: number;
  account: HDKey;
  contractPurpose: HDKey;
  chains: Record<Chain, HDKey>;
}

/**
 * Everything derived from one seed for one network. Holds private keys in memory. The BIP32
 * derivation runs when a key is first needed (or at derive()), not in the constructor: it
 * costs several secp256k1 multiplications, which a command that never touches the wallet
 * should not pay. With `accountXpub` the derivation checks the seed against it (CORRUPT_WALLET).
 */
export class WalletKeys {
  readonly network: BtcNetwork;
  private readonly contractAccounts = new Map<number, HDKey>();
  private pending: { mnemonic: string; bip39Passphrase: string; accountXpub: string | undefined } | undefined;
  private derived: Derived | undefined;

  constructor(mnemonic: string, bip39Passphrase: string, network: BtcNetwork, o: { accountXpub?: string } = {}) {
    this.pending = { mnemonic: checkMnemonic(mnemonic), bip39Passphrase, accountXpub: o.accountXpub };
    this.network = network;
  }

  /** Derives the keys now if not yet done; throws CORRUPT_WALLET when they do not match the expected account key. */
  derive(): Derived {
    if (this.derived) return this.derived;
    const p = this.pending;
    if (!p) throw new WalletError('CORRUPT_WALLET', 'the wallet keys were wiped');
    const versions = this.network.coinType === 0 ? BIP84_VERSIONS.mainnet : BIP84_VERSIONS.test;
    const seed = mnemonicToSeed(p.mnemonic, p.bip39Passphrase);
    const root = HDKey.fromMasterSeed(seed, versions);
    seed.fill(0);
    const account = root.derive(`m/84'/${this.network.coinType}'/0'`);
    const d: Derived = {
      masterFingerprint: root.fingerprint,
      account,
      contractPurpose: root.derive(`m/${CONTRACT_PURPOSE}'/${this.network.coinType}'`),
      chains: { 0: account.deriveChild(0), 1: account.deriveChild(1) },
    };
    root.wipePrivateData();
    if (p.accountXpub !== undefined && account.publicExtendedKey !== p.accountXpub) {
      wipeDerived(d);
      throw new WalletError('CORRUPT_WALLET', 'the decrypted seed does not match the stored account key');
    }
    this.pending = undefined;
    this.derived = d;
    return d;
  }

  /** BIP32 fingerprint of the master key, as PSBT derivation records carry it. */
  get masterFingerprint(): number {
    return this.derive().masterFingerprint;
  }

  get account(): HDKey {
    return this.derive().account;
  }

  private get contractPurpose(): HDKey {
    return this.derive().contractPurpose;
  }

  private get chains(): Record<Chain, HDKey> {
    return this.derive().chains;
  }

  /** Account extended public key (zpub on mainnet, vpub on test networks). */
  get accountXpub(): string {
    return this.account.publicExtendedKey;
  }

  /** Account extended private key (zprv/vprv): for backups and tests only. */
  get accountXprv(): string {
    return this.account.privateExtendedKey;
  }

  walletKey(chain: Chain, index: number): KeyPair {
    checkIndex(index);
    const k = this.chains[chain].deriveChild(index);
    return {
      pubkey33: k.publicKey!,
      privkey32: k.privateKey!,
      path: `m/84'/${this.network.coinType}'/0'/${chain}/${index}`,
    };
  }

  /** P2WPKH scriptPubKey and address of a wallet key (public derivation only). */
  address(chain: Chain, index: number): { script: Uint8Array; address: string } {
    checkIndex(index);
    const pub = this.chains[chain].deriveChild(index).publicKey!;
    const pay = p2wpkh(pub, this.network);
    return { script: pay.script, address: pay.address! };
  }

  /** Contract key `index` of contract-key account `account` (both hardened). */
  contractKey(index: number, account: number = CONTRACT_ACCOUNT): KeyPair {
    checkIndex(index);
    checkIndex(account);
    let root = this.contractAccounts.get(account);
    if (!root) {
      root = this.contractPurpose.deriveChild(account + HARDENED_OFFSET);
      this.contractAccounts.set(account, root);
    }
    const k = root.deriveChild(index + HARDENED_OFFSET);
    return {
      pubkey33: k.publicKey!,
      privkey32: k.privateKey!,
      path: `m/${CONTRACT_PURPOSE}'/${this.network.coinType}'/${account}'/${index}'`,
    };
  }

  wipe(): void {
    this.pending = undefined;
    if (this.derived) wipeDerived(this.derived);
    for (const a of this.contractAccounts.values()) a.wipePrivateData();
  }
}

function wipeDerived(d: Derived): void {
  d.account.wipePrivateData();
  d.contractPurpose.wipePrivateData();
  d.chains[0].wipePrivateData();
  d.chains[1].wipePrivateData();
}

function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index > MAX_INDEX) {
    throw new WalletError('BAD_INDEX', expected('index', `an integer in 0..${MAX_INDEX}`, index));
  }
}
