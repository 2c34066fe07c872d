/**
 * Shareable satpost address: bech32m (BIP 350, no length limit) with the fixed prefix
 * "satpost" over
 *
 *   version u8 (= 1) | network u8 (NETWORK_CODES) | identityKey bytes33 | mailbox bytes32 |
 *   relayHints list<string<=256> (at most 4)
 *
 * The mailbox id is redundant (it is H("satpost/v1/mailbox" || identityKey)) and is checked on
 * decoding: with the checksum that makes a corrupted key all but impossible to accept. The
 * network is in the payload, not the prefix, so every address starts "satpost1"; a client
 * refuses an address of another network than its own (`expectNetwork`).
 */
import { bech32m } from '@scure/base';
import { SatpostError, expected } from '../core/errors.ts';
import { Reader, Writer, list, string, EncodingError } from '../core/codec.ts';
import { NETWORK_CODES } from '../core/objects/fields.ts';
import type { NetworkName } from '../core/network.ts';
import { bytesEqual } from '../core/hash.ts';
import { MAX_RELAY_URL } from '../core/limits.ts';
import { identityKeyProblem, mailboxIdOf } from './keys.ts';

export type AddressErrorCode =
  | 'TOO_LONG'
  | 'BAD_ENCODING'
  | 'BAD_CHARACTER'
  | 'BAD_PREFIX'
  | 'BAD_CHECKSUM'
  | 'MALFORMED'
  | 'BAD_VERSION'
  | 'BAD_NETWORK'
  | 'WRONG_NETWORK'
  | 'BAD_KEY'
  | 'MAILBOX_MISMATCH'
  | 'TOO_MANY_HINTS'
  | 'BAD_HINT';
export class AddressError extends SatpostError<AddressErrorCode> {}

export const ADDRESS_PREFIX = 'satpost';
export const ADDRESS_VERSION = 1;
export const MAX_RELAY_HINTS = 4;
/** Longest valid address (4 hints of 256 bytes) is about 1,800 characters. */
export const MAX_ADDRESS_LENGTH = 2048;
const HINT_SCHEMES = new Set(['http:', 'https:', 'ws:', 'wss:']);
const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

export interface SatpostAddress {
  network: NetworkName;
  identityKey: Uint8Array;
  mailbox: Uint8Array;
  relayHints: string[];
}

const hintsCodec = list(string(MAX_RELAY_URL, 'relay hint'), MAX_RELAY_HINTS, 'relayHints');

export function encodeAddress(a: { network: NetworkName; identityKey: Uint8Array; relayHints: readonly string[] }): string {
  const code = NETWORK_CODES[a.network];
  if (code === undefined) throw new AddressError('BAD_NETWORK', expected('network', Object.keys(NETWORK_CODES).join(' | '), a.network));
  const keyProblem = identityKeyProblem(a.identityKey);
  if (keyProblem) throw new AddressError('BAD_KEY', keyProblem);
  const hints = normalizeHints(a.relayHints);
  const w = new Writer();
  w.byte(ADDRESS_VERSION);
  w.byte(code);
  w.bytes(a.identityKey);
  w.bytes(mailboxIdOf(a.identityKey));
  hintsCodec.write(w, hints);
  return bech32m.encode(ADDRESS_PREFIX, bech32m.toWords(w.finish()), false);
}

export function decodeAddress(input: string, opts: { expectNetwork?: NetworkName } = {}): SatpostAddress {
  if (typeof input !== 'string') throw new AddressError('BAD_ENCODING', expected('address', 'a string', typeof input));
  const s = input.trim();
  if (s.length > MAX_ADDRESS_LENGTH) throw new AddressError('TOO_LONG', expected('address', `at most ${MAX_ADDRESS_LENGTH} characters`, s.length));
  if (s !== s.toLowerCase() && s !== s.toUpperCase()) throw new AddressError('BAD_ENCODING', 'address mixes upper and lower case');
  const lower = s.toLowerCase();
  const sep = lower.lastIndexOf('1');
  if (sep < 1) throw new AddressError('BAD_ENCODING', expected('address', `"${ADDRESS_PREFIX}1..."`, s));
  const prefix = lower.slice(0, sep);
  if (prefix !== ADDRESS_PREFIX) throw new AddressError('BAD_PREFIX', expected('address prefix', `"${ADDRESS_PREFIX}"`, prefix));
  const data = lower.slice(sep + 1);
  for (let i = 0; i < data.length; i++) {
    if (!CHARSET.includes(data[i]!)) {
      throw new AddressError('BAD_CHARACTER', `address character ${sep + 2 + i} ("${data[i]}") is not a bech32 character`);
    }
  }
  if (data.length < 6) throw new AddressError('BAD_ENCODING', expected('address data', 'at least 6 characters', data.length));
  // Everything but the checksum is known good here, so any failure is a checksum failure.
  const decoded = bech32m.decodeUnsafe(lower, false);
  if (!decoded) throw new AddressError('BAD_CHECKSUM', 'address checksum does not match (mistyped?)');
  const payload = bech32m.fromWordsUnsafe(decoded.words);
  if (!payload) throw new AddressError('MALFORMED', 'address payload has invalid padding');
  return parsePayload(payload, opts.expectNetwork);
}

function parsePayload(payload: Uint8Array, expectNetwork: NetworkName | undefined): SatpostAddress {
  const r = new Reader(payload);
  try {
    const version = r.byte('version');
    if (version !== ADDRESS_VERSION) throw new AddressError('BAD_VERSION', expected('address version', `${ADDRESS_VERSION}`, version));
    const code = r.byte('network');
    const network = (Object.keys(NETWORK_CODES) as NetworkName[]).find((n) => NETWORK_CODES[n] === code);
    if (network === undefined) throw new AddressError('BAD_NETWORK', expected('address network code', Object.values(NETWORK_CODES).join(' | '), code));
    if (expectNetwork !== undefined && network !== expectNetwork) {
      throw new AddressError('WRONG_NETWORK', expected('address network', expectNetwork, network));
    }
    const identityKey = r.bytes(33, 'identityKey');
    const keyProblem = identityKeyProblem(identityKey);
    if (keyProblem) throw new AddressError('BAD_KEY', keyProblem);
    const mailbox = r.bytes(32, 'mailbox');
    if (!bytesEqual(mailbox, mailboxIdOf(identityKey))) {
      throw new AddressError('MAILBOX_MISMATCH', 'address mailbox id is not the hash of its identity key');
    }
    let relayHints: string[];
    try {
      relayHints = hintsCodec.read(r);
    } catch (e) {
      if (EncodingError.is(e, 'TOO_LARGE') && e.message.includes('count')) {
        throw new AddressError('TOO_MANY_HINTS', `address carries more than ${MAX_RELAY_HINTS} relay hints`, { cause: e });
      }
      throw e;
    }
    if (r.remaining !== 0) throw new AddressError('MALFORMED', expected('address payload', 'no bytes after the hints', `${r.remaining} bytes`));
    const canonical = normalizeHints(relayHints);
    for (let i = 0; i < canonical.length; i++) {
      // One address, one string: a hint must already be in its canonical URL form.
      if (canonical[i] !== relayHints[i]) throw new AddressError('BAD_HINT', expected('relay hint', `its canonical form "${canonical[i]}"`, relayHints[i]));
    }
    return { network, identityKey, mailbox, relayHints };
  } catch (e) {
    if (e instanceof AddressError) throw e;
    throw new AddressError('MALFORMED', `address payload: ${(e as Error).message}`, { cause: e });
  }
}

/** Validates relay hints and returns them in canonical URL form (WHATWG `href`). */
export function normalizeHints(hints: readonly string[]): string[] {
  if (!Array.isArray(hints)) throw new AddressError('BAD_HINT', expected('relayHints', 'an array', typeof hints));
  if (hints.length > MAX_RELAY_HINTS) throw new AddressError('TOO_MANY_HINTS', expected('relayHints', `at most ${MAX_RELAY_HINTS}`, hints.length));
  return hints.map((h) => {
    if (typeof h !== 'string') throw new AddressError('BAD_HINT', expected('relay hint', 'a string', typeof h));
    let url: URL;
    try {
      url = new URL(h);
    } catch {
      throw new AddressError('BAD_HINT', expected('relay hint', 'an absolute URL', h));
    }
    if (!HINT_SCHEMES.has(url.protocol)) throw new AddressError('BAD_HINT', expected('relay hint scheme', 'http, https, ws or wss', url.protocol));
    if (url.username || url.password) throw new AddressError('BAD_HINT', expected('relay hint', 'a URL without credentials', h));
    if (new TextEncoder().encode(url.href).length > MAX_RELAY_URL) {
      throw new AddressError('BAD_HINT', expected('relay hint', `at most ${MAX_RELAY_URL} bytes`, url.href));
    }
    return url.href;
  });
}
