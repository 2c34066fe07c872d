/**
 * The user's identity: a libsignal IdentityKeyPair (Curve25519; XEdDSA signatures) and a
 * registration id. The private key is stored only sealed under the passphrase
 * (src/core/secretbox.ts); the unlocked form lives in memory for the process lifetime.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { IdentityKeyPair, PrivateKey } from '@signalapp/libsignal-client';
import type { Db } from '../store/sqlite.ts';
import { sealSecret, openSecret, SecretBoxError, type ScryptParams } from '../core/secretbox.ts';
import { bytesEqual } from '../core/hash.ts';
import { IdentityError } from './errors.ts';
import { mailboxIdOf } from './keys.ts';

export interface UnlockedIdentity {
  readonly keyPair: IdentityKeyPair;
  /** 33-byte serialized identity public key. */
  readonly publicKey: Uint8Array;
  readonly registrationId: number;
  /** M = H("satpost/v1/mailbox" || publicKey). */
  readonly mailbox: Uint8Array;
}

export interface CreateIdentityOptions {
  /** Key-derivation cost; defaults to secretbox's DEFAULT_SCRYPT. Tests pass lighter ones. */
  scrypt?: ScryptParams;
  now?: number;
}

/** Signal's range: 14 bits, never 0. */
function newRegistrationId(): number {
  return randomInt(1, 16381);
}

export function hasIdentity(db: Db): boolean {
  return db.prepare('SELECT 1 FROM identity_self WHERE id = 1').get() !== undefined;
}

export function createIdentity(db: Db, passphrase: string, opts: CreateIdentityOptions = {}): UnlockedIdentity {
  if (hasIdentity(db)) throw new IdentityError('IDENTITY_EXISTS', 'this data directory already holds an identity');
  const keyPair = IdentityKeyPair.generate();
  const registrationId = newRegistrationId();
  const sealed = sealSecret(keyPair.privateKey.serialize(), passphrase, (n) => new Uint8Array(randomBytes(n)), opts.scrypt);
  const publicKey = keyPair.publicKey.serialize();
  db.prepare('INSERT INTO identity_self (id, public_key, sealed_private, registration_id, created_at) VALUES (1, ?, ?, ?, ?)').run(
    publicKey,
    sealed,
    registrationId,
    opts.now ?? Date.now(),
  );
  return { keyPair, publicKey, registrationId, mailbox: mailboxIdOf(publicKey) };
}

export function unlockIdentity(db: Db, passphrase: string): UnlockedIdentity {
  return identityFromPrivateKey(db, unsealIdentityKey(db, passphrase));
}

/** The identity private key (serialized), unsealed with the passphrase: one scrypt. Throws WRONG_PASSPHRASE, CORRUPT_IDENTITY, NO_IDENTITY. */
export function unsealIdentityKey(db: Db, passphrase: string): Uint8Array {
  const row = selfRow(db);
  try {
    return openSecret(new Uint8Array(row.sealed_private), passphrase);
  } catch (cause) {
    if (SecretBoxError.is(cause, 'WRONG_PASSPHRASE')) {
      throw new IdentityError('WRONG_PASSPHRASE', 'wrong passphrase for the identity key', { cause });
    }
    throw new IdentityError('CORRUPT_IDENTITY', 'the stored identity key is unreadable', { cause });
  }
}

/**
 * The identity from its already unsealed private key (as unsealIdentityKey returned it, e.g.
 * held by the unlock agent): no scrypt. Throws CORRUPT_IDENTITY when the key is not the
 * stored identity's, NO_IDENTITY.
 */
export function identityFromPrivateKey(db: Db, secret: Uint8Array): UnlockedIdentity {
  const row = selfRow(db);
  let privateKey: PrivateKey;
  try {
    privateKey = PrivateKey.deserialize(new Uint8Array(secret));
  } catch (cause) {
    throw new IdentityError('CORRUPT_IDENTITY', 'the identity private key is malformed', { cause });
  }
  const publicKey = new Uint8Array(row.public_key);
  const derived = privateKey.getPublicKey();
  // A swapped public_key column would make us publish a key we cannot use.
  if (!bytesEqual(derived.serialize(), publicKey)) {
    throw new IdentityError('CORRUPT_IDENTITY', 'the stored identity public key does not match its private key');
  }
  return {
    keyPair: new IdentityKeyPair(derived, privateKey),
    publicKey,
    registrationId: row.registration_id,
    mailbox: mailboxIdOf(publicKey),
  };
}

function selfRow(db: Db): { public_key: Uint8Array; sealed_private: Uint8Array; registration_id: number } {
  const row = db.prepare('SELECT public_key, sealed_private, registration_id FROM identity_self WHERE id = 1').get() as
    | { public_key: Uint8Array; sealed_private: Uint8Array; registration_id: number }
    | undefined;
  if (row === undefined) throw new IdentityError('NO_IDENTITY', 'no identity in this data directory; create one first');
  return row;
}
