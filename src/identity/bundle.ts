/**
 * The libsignal side of the PrekeyBundle (object 0x0A; its codec, signed payloads and fetch
 * split are pure, in src/core/objects/prekey-bundle.ts): checking its signatures, merging a
 * relay's pool and building the libsignal bundle for PQXDH.
 */
import { KEMPublicKey, PreKeyBundle, PublicKey } from '@signalapp/libsignal-client';
import { bytesEqual } from '../core/hash.ts';
import { MAX_KYBER_PREKEYS, MAX_ONE_TIME_PREKEYS, identityKeyProblem, mailboxIdOf, oneTimePreKeyPayload, type PrekeyBundle } from '../core/objects/index.ts';
import { IdentityError } from './errors.ts';
import { own } from './bytes.ts';

/** Signal's device ids are 1..127; satpost uses device 1 until multi-device exists. */
export const DEVICE_ID = 1;

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
