/**
 * The user's identity: a libsignal IdentityKeyPair (Curve25519; XEdDSA signatures) and a
 * registration id. The private key is stored only sealed under the passphrase
 * (src/core/secretbox.ts); the unlocked form lives in memory for the process lifetime.
 */
import { createPrivateKey, createPublicKey, randomBytes, randomInt } from 'node:crypto';
import { IdentityKeyPair, PrivateKey, PublicKey } from '@signalapp/libsignal-client';
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
  const publicKey = new Uint8Array(row.public_key);
  // A swapped public_key column would make us publish a key we cannot use. Checked with Node's
  // X25519 (the key is a Curve25519 scalar; its libsignal serialization is 0x05 || the X25519
  // public key): libsignal itself is loaded only when the key pair is first used, so a command
  // that decrypts and signs nothing does not load it.
  if (!bytesEqual(x25519PublicKey(secret), publicKey)) {
    throw new IdentityError('CORRUPT_IDENTITY', 'the stored identity public key does not match its private key');
  }
  const privateBytes = new Uint8Array(secret);
  let keyPair: IdentityKeyPair | undefined;
  return {
    get keyPair() {
      return (keyPair ??= new IdentityKeyPair(PublicKey.deserialize(publicKey), PrivateKey.deserialize(privateBytes)));
    },
    publicKey,
    registrationId: row.registration_id,
    mailbox: mailboxIdOf(publicKey),
  };
}

/** PKCS#8 DER prefix of a raw 32-byte X25519 private key (RFC 8410). */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** libsignal's serialized public key (0x05 || X25519 public key) of a serialized private key; CORRUPT_IDENTITY when malformed. */
function x25519PublicKey(secret: Uint8Array): Uint8Array {
  if (secret.length !== 32) throw new IdentityError('CORRUPT_IDENTITY', 'the identity private key is malformed');
  let spki: Buffer;
  try {
    const key = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, secret]), format: 'der', type: 'pkcs8' });
    spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  } catch (cause) {
    throw new IdentityError('CORRUPT_IDENTITY', 'the identity private key is malformed', { cause });
  }
  return Uint8Array.of(0x05, ...spki.subarray(spki.length - 32));
}

function selfRow(db: Db): { public_key: Uint8Array; sealed_private: Uint8Array; registration_id: number } {
  const row = db.prepare('SELECT public_key, sealed_private, registration_id FROM identity_self WHERE id = 1').get() as
    | { public_key: Uint8Array; sealed_private: Uint8Array; registration_id: number }
    | undefined;
  if (row === undefined) throw new IdentityError('NO_IDENTITY', 'no identity in this data directory; create one first');
  return row;
}
