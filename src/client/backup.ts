/**
 * The address book as a file, for a backup: every contact with her name, her trusted address
 * (identity key and relay hints) and, while one awaits trust, the changed address she last gave.
 * Sealed under the wallet's recovery phrase, so that the phrase written down at the first run
 * is the one secret that brings back both the coins (Client.restore) and the people.
 *
 *   file = "satpost-address-book\n" | sealSecret(JSON, passphrase = the normalised phrase)
 *
 * sealSecret (src/core/secretbox.ts: scrypt, then XChaCha20-Poly1305 with a random nonce)
 * authenticates the whole book: a file that opens was written under this phrase and not
 * changed since, so the identity keys it holds can be trusted as the user's own earlier trust.
 * Its scrypt is light (BOOK_SCRYPT): a 12-word phrase carries 128 bits, out of reach of guessing
 * however cheap one guess is; the cost only has to stay bounded for the person restoring.
 */
import { expected } from '../core/errors.ts';
import type { NetworkName } from '../core/network.ts';
import { SecretBoxError, openSecret, sealSecret, type ScryptParams } from '../core/secretbox.ts';
import { WalletError } from '../wallet/errors.ts';
import { checkMnemonic } from '../wallet/keys.ts';
import { ClientError } from './errors.ts';

const MAGIC = new TextEncoder().encode('satpost-address-book\n');
const BOOK_SCRYPT: ScryptParams = { log2N: 14, r: 8, p: 1 };
/** Far above any real address book; a bigger file is not one. */
const MAX_BOOK_BYTES = 16 << 20;

export interface BookEntry {
  name: string;
  /** The trusted address (identity key + relay hints). */
  address: string;
  /** A changed address she gave that was not yet trusted (the key change is pending again after import). */
  pendingAddress?: string;
  addedAt: number;
}

export interface AddressBook {
  version: 1;
  network: NetworkName;
  exportedAt: number;
  contacts: BookEntry[];
}

/** What an import did: contacts added, and those left out with the reason (a code of addContact). */
export interface BookImport {
  added: string[];
  skipped: { name: string; code: string; message: string }[];
}

/** The sealed file for `book` under the recovery phrase `mnemonic`. BAD_RECOVERY_PHRASE for a phrase that is not one. */
export function sealAddressBook(book: AddressBook, mnemonic: string, random: (n: number) => Uint8Array): Uint8Array {
  const sealed = sealSecret(new TextEncoder().encode(JSON.stringify(book)), phrase(mnemonic), random, BOOK_SCRYPT);
  const out = new Uint8Array(MAGIC.length + sealed.length);
  out.set(MAGIC, 0);
  out.set(sealed, MAGIC.length);
  return out;
}

/**
 * The address book in `file`, opened with the recovery phrase. Throws BAD_RECOVERY_PHRASE (not
 * 12 or 24 BIP39 words with a valid checksum), BAD_BACKUP (not an address book file, cut short,
 * or its contents malformed), WRONG_RECOVERY_PHRASE (a valid phrase, but not the one the file
 * was sealed under; a file changed after sealing says the same, as the AEAD cannot tell them apart).
 */
export function openAddressBook(file: Uint8Array, mnemonic: string): AddressBook {
  const key = phrase(mnemonic);
  if (file.length > MAX_BOOK_BYTES || file.length < MAGIC.length || !MAGIC.every((b, i) => file[i] === b)) {
    throw new ClientError('BAD_BACKUP', 'this file is not a satpost address book (it does not start with "satpost-address-book")');
  }
  let plain: Uint8Array;
  try {
    plain = openSecret(file.subarray(MAGIC.length), key);
  } catch (err) {
    if (SecretBoxError.is(err, 'WRONG_PASSPHRASE')) {
      throw new ClientError('WRONG_RECOVERY_PHRASE', 'this address book was not sealed under that recovery phrase (or the file was changed)', { cause: err });
    }
    if (SecretBoxError.is(err, 'MALFORMED_SECRET')) throw new ClientError('BAD_BACKUP', `the address book file is damaged: ${err.message}`, { cause: err });
    throw err;
  }
  return parseBook(plain);
}

function phrase(mnemonic: string): string {
  try {
    return checkMnemonic(mnemonic);
  } catch (err) {
    if (WalletError.is(err, 'BAD_MNEMONIC')) throw new ClientError('BAD_RECOVERY_PHRASE', `that is not a recovery phrase: ${err.message}`, { cause: err });
    throw err;
  }
}

function parseBook(plain: Uint8Array): AddressBook {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plain));
  } catch (cause) {
    throw new ClientError('BAD_BACKUP', 'the address book does not hold JSON', { cause });
  }
  const b = v as Partial<AddressBook> | null;
  const bad = (what: string, got: unknown) => new ClientError('BAD_BACKUP', expected(`address book ${what}`, 'as written by satpost', got));
  if (typeof b !== 'object' || b === null || b.version !== 1) throw bad('version', b?.version);
  if (typeof b.network !== 'string') throw bad('network', b.network);
  if (!Array.isArray(b.contacts)) throw bad('contacts', typeof b.contacts);
  for (const c of b.contacts as unknown[]) {
    const e = c as Partial<BookEntry> | null;
    const ok = typeof e === 'object' && e !== null && typeof e.name === 'string' && typeof e.address === 'string' && typeof e.addedAt === 'number' &&
      (e.pendingAddress === undefined || typeof e.pendingAddress === 'string');
    if (!ok) throw bad('contact', JSON.stringify(c)?.slice(0, 80));
  }
  return b as AddressBook;
}

/** The recovery phrase, normalised; BAD_RECOVERY_PHRASE when it is not 12 or 24 BIP39 words with a valid checksum. */
export const checkRecoveryPhrase = phrase;

/** The address book of `contacts` (with, for those whose key change awaits trust, the new address). */
export function addressBookOf(network: NetworkName, contacts: { name: string; address: string; addedAt: number; pendingAddress?: string | undefined }[], now: number): AddressBook {
  return {
    version: 1, network, exportedAt: now,
    contacts: contacts.map((c) => ({ name: c.name, address: c.address, addedAt: c.addedAt, ...(c.pendingAddress !== undefined ? { pendingAddress: c.pendingAddress } : {}) })),
  };
}

/**
 * Adds the book's contacts through the client's own checks (addContact: the trusted address;
 * updateContact: a pending change, which is pending again here). A contact the client refuses
 * (a name or a key already saved, an address it rejects) is skipped with its code; nothing
 * already in the address book is changed. NETWORK_MISMATCH for a book of another network.
 */
export async function importAddressBook(
  book: AddressBook,
  into: { network: NetworkName; addContact(name: string, address: string): Promise<unknown>; updateContact(name: string, address: string): Promise<unknown> },
): Promise<BookImport> {
  if (book.network !== into.network) throw new ClientError('NETWORK_MISMATCH', expected('address book network', into.network, book.network));
  const out: BookImport = { added: [], skipped: [] };
  for (const e of book.contacts) {
    try {
      await into.addContact(e.name, e.address);
    } catch (err) {
      if (!(err instanceof ClientError)) throw err;
      out.skipped.push({ name: e.name, code: err.code, message: err.message });
      continue;
    }
    out.added.push(e.name);
    if (e.pendingAddress === undefined) continue;
    try {
      await into.updateContact(e.name, e.pendingAddress);
    } catch (err) {
      // The expected outcome: the change is recorded and awaits trust, as it did before the backup.
      if (!ClientError.is(err, 'CONTACT_KEY_CHANGED')) throw err;
    }
  }
  return out;
}
