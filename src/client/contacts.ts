/**
 * Contact names and the contact view the SDK hands out. A name is what the user types
 * (`satpost send carol ...`), so it is short, has no spaces and cannot look like an option;
 * case is kept for display but ignored for lookups.
 */
import { hex } from '@scure/base';
import { expected } from '../core/errors.ts';
import type { NetworkName } from '../core/network.ts';
import { encodeAddress } from '../identity/address.ts';
import type { IdentityChangeInfo } from '../identity/errors.ts';
import { fingerprintOf } from '../identity/keys.ts';
import { ClientError } from './errors.ts';
import type { ContactRow } from './store.ts';

export const MAX_CONTACT_NAME = 64;
const NAME = /^[\p{L}\p{N}][\p{L}\p{N}._-]*$/u;

/** Returns the name as stored (NFC, trimmed) and its lookup key (lower-cased). */
export function checkContactName(input: unknown): { name: string; nameKey: string } {
  if (typeof input !== 'string') throw new ClientError('INVALID_NAME', expected('contact name', 'a string', typeof input));
  const name = input.normalize('NFC').trim();
  if (name.length === 0 || [...name].length > MAX_CONTACT_NAME || !NAME.test(name)) {
    throw new ClientError(
      'INVALID_NAME',
      expected('contact name', `1..${MAX_CONTACT_NAME} letters, digits, ".", "_" or "-", starting with a letter or digit`, input),
    );
  }
  return { name, nameKey: name.toLowerCase() };
}

export interface Contact {
  name: string;
  /** The contact's satpost address (her identity key and relay hints as last trusted). */
  address: string;
  /** Identity key fingerprint, to compare with the contact out of band. */
  fingerprint: string;
  /** 33-byte identity key, hex. */
  identityKey: string;
  relayHints: string[];
  addedAt: number;
  /** Set while a changed identity key awaits trustContact; sending to her is refused until then. */
  keyChange: { trustedFingerprint: string; newFingerprint: string } | null;
}

export function contactView(row: ContactRow, network: NetworkName, change: IdentityChangeInfo | null): Contact {
  return {
    name: row.name,
    address: encodeAddress({ network, identityKey: row.identityKey, relayHints: row.relayHints }),
    fingerprint: fingerprintOf(row.identityKey),
    identityKey: hex.encode(row.identityKey),
    relayHints: row.relayHints,
    addedAt: row.addedAt,
    keyChange: change ? { trustedFingerprint: change.trustedFingerprint, newFingerprint: change.newFingerprint } : null,
  };
}
