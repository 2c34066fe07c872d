/**
 * PrekeyBundle (object 0x0A): the keys a user publishes so others can start a Signal session
 * with her while she is offline (PQXDH). One shape serves two uses:
 *
 * - published: all not-yet-published one-time keys (EC and Kyber) plus the current signed
 *   prekey and last-resort Kyber key, uploaded to the relays named in her address;
 * - fetched: what a relay hands one sender: at most one one-time EC prekey and at most one
 *   one-time Kyber prekey (each handed out once, then dropped by the relay: `takeForFetch`).
 *
 * Signatures (all XEdDSA by the identity key):
 * - signed prekey and Kyber prekeys: over the libsignal serialization of the public key
 *   (what libsignal itself verifies in processPreKeyBundle);
 * - one-time EC prekeys: over "satpost/v1/prekey" || id u32 || publicKey33. Signal leaves these
 *   unsigned; here relays are anyone, so a relay could otherwise substitute them unnoticed.
 */
import { KEMPublicKey, PreKeyBundle, PublicKey } from '@signalapp/libsignal-client';
import { bytes, list, refine, struct, tagged, u32, u64, u8, varbytes, type Infer } from '../core/codec.ts';
import { bytesEqual, concatBytes } from '../core/hash.ts';
import { IdentityError } from './errors.ts';
import { identityKeyProblem, mailboxIdOf } from './keys.ts';
import { own } from './bytes.ts';

export const PREKEY_BUNDLE_TAG = 0x0a;
/** libsignal's serialized Kyber1024 public key: type byte 0x08 || 1568 bytes. */
export const KYBER_PUBLIC_KEY_LENGTH = 1569;
/** Bounds per published bundle; a pool larger than this is published in several bundles. */
export const MAX_ONE_TIME_PREKEYS = 200;
export const MAX_KYBER_PREKEYS = 200;
/** Signal's device ids are 1..127; satpost uses device 1 until multi-device exists. */
export const DEVICE_ID = 1;

const ecPreKey = struct({ id: u32('prekey id'), publicKey: bytes(33, 'prekey publicKey'), signature: bytes(64, 'prekey signature') }, 'prekey');
const kyberPreKey = struct(
  {
    id: u32('kyber id'),
    publicKey: refine(varbytes(KYBER_PUBLIC_KEY_LENGTH, 'kyber publicKey'), (k) =>
      k.length === KYBER_PUBLIC_KEY_LENGTH ? undefined : `expected ${KYBER_PUBLIC_KEY_LENGTH} bytes, got ${k.length}`,
    ),
    signature: bytes(64, 'kyber signature'),
  },
  'kyber prekey',
);

const bundleBody = struct(
  {
    identityKey: refine(bytes(33, 'identityKey'), identityKeyProblem),
    registrationId: refine(u32('registrationId'), (v) => (v >= 1 && v <= 16380 ? undefined : `registrationId expected 1..16380, got ${v}`)),
    deviceId: refine(u8('deviceId'), (v) => (v >= 1 && v <= 127 ? undefined : `deviceId expected 1..127, got ${v}`)),
    signedPreKey: ecPreKey,
    lastResortKyber: kyberPreKey,
    oneTimePreKeys: list(ecPreKey, MAX_ONE_TIME_PREKEYS, 'oneTimePreKeys'),
    kyberPreKeys: list(kyberPreKey, MAX_KYBER_PREKEYS, 'kyberPreKeys'),
    publishedAt: u64('publishedAt'),
  },
  'PrekeyBundle',
);

export const PrekeyBundleCodec = tagged(PREKEY_BUNDLE_TAG, bundleBody, 'PrekeyBundle');
export type PrekeyBundle = Infer<typeof bundleBody>;
export type SignedEcPreKey = Infer<typeof ecPreKey>;
export type SignedKyberPreKey = Infer<typeof kyberPreKey>;

const PREKEY_TAG = new TextEncoder().encode('satpost/v1/prekey');

/** The payload a one-time EC prekey's signature covers. */
export function oneTimePreKeyPayload(id: number, publicKey: Uint8Array): Uint8Array {
  const idBytes = new Uint8Array(4);
  new DataView(idBytes.buffer).setUint32(0, id);
  return concatBytes(PREKEY_TAG, idBytes, publicKey);
}

/**
 * Checks every signature in the bundle against its identity key (and, if given, that the
 * identity key is the one of `expectedMailbox`, so a relay cannot answer a fetch for M with
 * somebody else's keys). Throws BUNDLE_MAILBOX_MISMATCH / BUNDLE_BAD_SIGNATURE / BUNDLE_MALFORMED.
 */
export function verifyBundle(bundle: PrekeyBundle, expectedMailbox?: Uint8Array): void {
  const problem = identityKeyProblem(bundle.identityKey);
  if (problem) throw new IdentityError('BUNDLE_MALFORMED', problem);
  if (expectedMailbox && !bytesEqual(mailboxIdOf(bundle.identityKey), expectedMailbox)) {
    throw new IdentityError('BUNDLE_MAILBOX_MISMATCH', 'the bundle identity key does not belong to the requested mailbox');
  }
  let identity: PublicKey;
  try {
    identity = PublicKey.deserialize(own(bundle.identityKey));
  } catch (cause) {
    throw new IdentityError('BUNDLE_MALFORMED', 'bundle identity key is not a Curve25519 key', { cause });
  }
  const check = (ok: boolean, what: string): void => {
    if (!ok) throw new IdentityError('BUNDLE_BAD_SIGNATURE', `bad signature on ${what}`);
  };
  check(identity.verify(own(bundle.signedPreKey.publicKey), own(bundle.signedPreKey.signature)), `signed prekey ${bundle.signedPreKey.id}`);
  for (const k of [bundle.lastResortKyber, ...bundle.kyberPreKeys]) {
    check(identity.verify(own(k.publicKey), own(k.signature)), `Kyber prekey ${k.id}`);
  }
  for (const k of bundle.oneTimePreKeys) {
    check(identity.verify(own(oneTimePreKeyPayload(k.id, k.publicKey)), own(k.signature)), `one-time prekey ${k.id}`);
  }
}

/**
 * What a relay does per fetch: hand out the first one-time EC and Kyber prekeys of the pool
 * and drop them, so no one-time key is ever given to two senders. When the pool is empty the
 * fetched bundle carries none (PQXDH then runs on the signed + last-resort keys, as Signal).
 */
export function takeForFetch(pool: PrekeyBundle): { fetched: PrekeyBundle; remaining: PrekeyBundle } {
  const fetched: PrekeyBundle = { ...pool, oneTimePreKeys: pool.oneTimePreKeys.slice(0, 1), kyberPreKeys: pool.kyberPreKeys.slice(0, 1) };
  const remaining: PrekeyBundle = { ...pool, oneTimePreKeys: pool.oneTimePreKeys.slice(1), kyberPreKeys: pool.kyberPreKeys.slice(1) };
  return { fetched, remaining };
}

/**
 * Merges a newly published bundle into a relay's pool: one-time keys are appended (ids not
 * already present), the signed / last-resort keys replaced when the new bundle is newer.
 */
export function mergeBundles(pool: PrekeyBundle, update: PrekeyBundle): PrekeyBundle {
  if (!bytesEqual(pool.identityKey, update.identityKey)) {
    throw new IdentityError('BUNDLE_MAILBOX_MISMATCH', 'cannot merge bundles of two different identity keys');
  }
  const newer = update.publishedAt >= pool.publishedAt ? update : pool;
  const ec = new Set(pool.oneTimePreKeys.map((k) => k.id));
  const ky = new Set(pool.kyberPreKeys.map((k) => k.id));
  return {
    ...newer,
    oneTimePreKeys: [...pool.oneTimePreKeys, ...update.oneTimePreKeys.filter((k) => !ec.has(k.id))].slice(0, MAX_ONE_TIME_PREKEYS),
    kyberPreKeys: [...pool.kyberPreKeys, ...update.kyberPreKeys.filter((k) => !ky.has(k.id))].slice(0, MAX_KYBER_PREKEYS),
  };
}

/** The libsignal bundle for processPreKeyBundle: first one-time keys if any, else last-resort Kyber. */
export function toLibsignalBundle(bundle: PrekeyBundle): PreKeyBundle {
  const ec = bundle.oneTimePreKeys[0];
  const kyber = bundle.kyberPreKeys[0] ?? bundle.lastResortKyber;
  try {
    return PreKeyBundle.new(
      bundle.registrationId,
      bundle.deviceId,
      ec ? ec.id : null,
      ec ? PublicKey.deserialize(own(ec.publicKey)) : null,
      bundle.signedPreKey.id,
      PublicKey.deserialize(own(bundle.signedPreKey.publicKey)),
      own(bundle.signedPreKey.signature),
      PublicKey.deserialize(own(bundle.identityKey)),
      kyber.id,
      KEMPublicKey.deserialize(own(kyber.publicKey)),
      own(kyber.signature),
    );
  } catch (cause) {
    throw new IdentityError('BUNDLE_MALFORMED', 'bundle keys are not valid libsignal keys', { cause });
  }
}
