/**
 * PrekeyBundle (object 0x0A): the keys a user publishes so others can start a Signal session
 * with her while she is offline (PQXDH). One shape serves two uses:
 *
 * - published: all not-yet-published one-time keys (EC and Kyber) plus the current signed
 *   prekey and last-resort Kyber key, uploaded to the relays named in her address;
 * - fetched: what a relay hands one sender: at most one one-time EC prekey and at most one
 *   one-time Kyber prekey (each handed out once, then dropped by the relay: `takeForFetch`).
 *
 * Signatures (all XEdDSA by the identity key; checked in src/identity/bundle.ts, verifyBundle):
 * - signed prekey and Kyber prekeys: over the libsignal serialization of the public key
 *   (what libsignal itself verifies in processPreKeyBundle);
 * - one-time EC prekeys: over "satpost/v1/prekey" || id u32 || publicKey33. Signal leaves these
 *   unsigned; here relays are anyone, so a relay could otherwise substitute them unnoticed.
 *
 * Pure: the codec, the signed payload and the fetch split; nothing here needs libsignal.
 */
import { bytes, list, refine, struct, tagged, u32, u64, u8, varbytes, type Infer } from '../codec.ts';
import { concatBytes } from '../hash.ts';
import { identityKeyProblem } from './fields.ts';

export const PREKEY_BUNDLE_TAG = 0x0a;
/** libsignal's serialized Kyber1024 public key: type byte 0x08 || 1568 bytes. */
export const KYBER_PUBLIC_KEY_LENGTH = 1569;
/** Bounds per published bundle; a pool larger than this is published in several bundles. */
export const MAX_ONE_TIME_PREKEYS = 200;
export const MAX_KYBER_PREKEYS = 200;

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

const PREKEY_DOMAIN = new TextEncoder().encode('satpost/v1/prekey');

/** The payload a one-time EC prekey's signature covers. */
export function oneTimePreKeyPayload(id: number, publicKey: Uint8Array): Uint8Array {
  const idBytes = new Uint8Array(4);
  new DataView(idBytes.buffer).setUint32(0, id);
  return concatBytes(PREKEY_DOMAIN, idBytes, publicKey);
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
