/**
 * Field codecs shared by the protocol objects. Keys are checked for their kind's prefix
 * byte here; whether they are valid curve points is checked where they are used.
 */
import { bytes, enumU8, refine, u64, type Codec } from '../codec.ts';
import { expected } from '../errors.ts';
import { MAX_MONEY_SATS } from '../limits.ts';
import type { NetworkName } from '../network.ts';

export type PaymentMode = 'sender-pays' | 'recipient-pays';
/** Wire codes of the payment modes. */
export const MODE_CODES: Record<PaymentMode, number> = { 'sender-pays': 1, 'recipient-pays': 2 };
export const mode = (): Codec<PaymentMode> => enumU8(MODE_CODES, 'mode');

/** Wire codes of the Bitcoin networks (a quote is only valid on its network). */
export const NETWORK_CODES: Record<NetworkName, number> = { mainnet: 1, testnet: 2, signet: 3, regtest: 4 };
export const network = (): Codec<NetworkName> => enumU8(NETWORK_CODES, 'network');

export const id16 = (what: string): Codec<Uint8Array> => bytes(16, what);
export const hash32 = (what: string): Codec<Uint8Array> => bytes(32, what);
/** Ed25519 public key of a relay's node key. */
export const relayId = (what = 'relayId'): Codec<Uint8Array> => bytes(32, what);
export const sig64 = (what = 'signature'): Codec<Uint8Array> => bytes(64, what);

/** Compressed secp256k1 public key (prefix 0x02 or 0x03). */
export const secpPubkey = (what: string): Codec<Uint8Array> =>
  refine(bytes(33, what), (k) => (k[0] === 2 || k[0] === 3 ? undefined : `expected prefix 0x02 or 0x03, got 0x${k[0]!.toString(16)}`), what);

/** Serialized libsignal Curve25519 public key (prefix 0x05). */
export const identityKey = (what = 'identityKey'): Codec<Uint8Array> =>
  refine(bytes(33, what), (k) => (k[0] === 5 ? undefined : `expected prefix 0x05, got 0x${k[0]!.toString(16)}`), what);

/** Satoshis, at most 21e14. */
export const sats = (what: string): Codec<number> =>
  refine(u64(what), (v) => (v <= MAX_MONEY_SATS ? undefined : `expected at most ${MAX_MONEY_SATS} sats, got ${v}`), what);

/** Milliseconds since the Unix epoch. */
export const millis = (what: string): Codec<number> => u64(what);

/** Length of a serialized libsignal identity key (Curve25519 with its type byte). */
export const IDENTITY_KEY_LENGTH = 33;
/** libsignal's type byte for Curve25519 (DJB) public keys. */
export const DJB_KEY_TYPE = 0x05;

/** Shape check only: any 32 bytes are a usable Montgomery u-coordinate. */
export function identityKeyProblem(key: Uint8Array): string | undefined {
  if (!(key instanceof Uint8Array) || key.length !== IDENTITY_KEY_LENGTH) {
    return expected('identityKey', `${IDENTITY_KEY_LENGTH} bytes`, key);
  }
  if (key[0] !== DJB_KEY_TYPE) return expected('identityKey[0]', '0x05 (Curve25519)', key[0]);
  return undefined;
}
