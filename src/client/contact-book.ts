/**
 * The address book: contacts saved by the address the user typed (the root of trust for
 * their identity keys), a changed key held back until the user trusts it, and the errors
 * that say so. The Client's contact methods call this.
 */
import { ProtocolAddress, PublicKey } from '@signalapp/libsignal-client';
import { bytesEqual } from '../core/hash.ts';
import type { NetworkName } from '../core/network.ts';
import { AddressError, decodeAddress, type SatpostAddress } from '../identity/address.ts';
import { DEVICE_ID } from '../identity/bundle.ts';
import { IdentityError } from '../identity/errors.ts';
import type { SignalStores } from '../identity/stores.ts';
import { assertSecureRelayUrl } from './config.ts';
import { checkContactName, contactView, type Contact } from './contacts.ts';
import { ClientError } from './errors.ts';
import type { ClientStore, ContactRow } from './store.ts';

export interface ContactBookDeps {
  /** The client's store (throws CLIENT_CLOSED once closed). */
  store: () => ClientStore;
  stores: SignalStores;
  network: NetworkName;
  /** A proxy is configured: plain-http .onion relay hints are allowed. */
  proxied: boolean;
  /** The user's own identity key: her own address is refused as a contact. */
  ownKey: Uint8Array;
  now: () => number;
}

export class ContactBook {
  constructor(private readonly d: ContactBookDeps) {}

  /**
   * Saves `address` under `name` and trusts its identity key for that contact (the address the
   * user typed is the root of trust). Throws INVALID_NAME, INVALID_ADDRESS (with `reason`: the
   * AddressError code such as BAD_CHECKSUM or WRONG_NETWORK, or OWN_ADDRESS), CONTACT_EXISTS
   * (the name, or the same identity key under another name).
   */
  async add(name: string, address: string): Promise<Contact> {
    const store = this.d.store();
    const n = checkContactName(name);
    const a = this.decode(address);
    if (store.contact(n.nameKey)) {
      throw new ClientError('CONTACT_EXISTS', `a contact named "${store.contact(n.nameKey)!.name}" already exists; give the new one another name`);
    }
    const other = store.contactByKey(a.identityKey);
    if (other) throw new ClientError('CONTACT_EXISTS', `this address is already saved as contact "${other.name}"`);
    await this.d.stores.identity.saveIdentity(peer(n.nameKey), PublicKey.deserialize(Uint8Array.from(a.identityKey)));
    await this.d.stores.commit();
    store.insertContact({ nameKey: n.nameKey, name: n.name, identityKey: a.identityKey, relayHints: a.relayHints, now: this.d.now() });
    return this.get(n.name);
  }

  /**
   * Replaces a contact's address. Same identity key: her relay hints are updated. A different
   * key is recorded as a pending change and CONTACT_KEY_CHANGED is thrown (with `change`):
   * compare fingerprints with her, then trustContact(name). Also UNKNOWN_CONTACT, INVALID_ADDRESS.
   */
  async update(name: string, address: string): Promise<Contact> {
    const store = this.d.store();
    const row = this.row(name);
    const a = this.decode(address);
    if (bytesEqual(a.identityKey, row.identityKey)) {
      store.setHints(row.nameKey, a.relayHints, this.d.now());
      return this.get(name);
    }
    const other = store.contactByKey(a.identityKey);
    if (other) throw new ClientError('CONTACT_EXISTS', `this address is already saved as contact "${other.name}"`);
    await this.d.stores.identity.saveIdentity(peer(row.nameKey), PublicKey.deserialize(Uint8Array.from(a.identityKey)));
    await this.d.stores.commit();
    store.setPendingHints(row.nameKey, a.relayHints, this.d.now());
    throw this.keyChanged(row.name, row.nameKey);
  }

  /** Every contact, by name. */
  all(): Contact[] {
    return this.d.store()
      .contacts()
      .map((r) => contactView(r, this.d.network, this.d.stores.identityChange(r.nameKey)));
  }

  /** One contact by name (case-insensitive). Throws UNKNOWN_CONTACT. */
  get(name: string): Contact {
    const row = this.row(name);
    return contactView(row, this.d.network, this.d.stores.identityChange(row.nameKey));
  }

  /**
   * The contact, only if her identity key is the trusted one: what sending uses. Throws
   * CONTACT_KEY_CHANGED (with `change`) while a changed key awaits trustContact, UNKNOWN_CONTACT.
   */
  trusted(name: string): Contact {
    const c = this.get(name);
    if (c.keyChange) throw this.keyChanged(c.name, this.row(name).nameKey);
    return c;
  }

  /**
   * Accepts a contact's changed identity key (after comparing fingerprints with her). Her old
   * sessions are dropped; her address becomes the new one. Throws NO_KEY_CHANGE, UNKNOWN_CONTACT.
   */
  async trust(name: string): Promise<Contact> {
    const store = this.d.store();
    const row = this.row(name);
    const newKey = this.d.stores.trustRow(row.nameKey)?.untrusted;
    if (!newKey) throw new ClientError('NO_KEY_CHANGE', `the identity key of "${row.name}" has not changed; nothing to trust`);
    this.d.stores.trustNewIdentity(row.nameKey);
    store.replaceKey(row.nameKey, newKey, row.pendingHints ?? row.relayHints, this.d.now());
    return this.get(name);
  }

  /**
   * Translates a session failure about a contact into the client's terms (IDENTITY_KEY_CHANGED
   * becomes CONTACT_KEY_CHANGED); other errors are returned unchanged.
   */
  explainSessionError(err: unknown): unknown {
    if (IdentityError.is(err, 'IDENTITY_KEY_CHANGED') && err.change) {
      const row = this.d.store().contact(err.change.contact);
      if (row) return this.keyChanged(row.name, row.nameKey, err);
    }
    return err;
  }

  private decode(address: string): SatpostAddress {
    let a: SatpostAddress;
    try {
      a = decodeAddress(address, { expectNetwork: this.d.network });
    } catch (e) {
      if (!(e instanceof AddressError)) throw e;
      const err = new ClientError('INVALID_ADDRESS', `invalid satpost address: ${e.message}`, { cause: e });
      err.reason = e.code;
      throw err;
    }
    // Her relays would get our deposits and her logins in the clear: refused before anything is saved.
    for (const hint of a.relayHints) assertSecureRelayUrl(hint, this.d.network, this.d.proxied);
    if (bytesEqual(a.identityKey, this.d.ownKey)) {
      const err = new ClientError('INVALID_ADDRESS', 'that is your own satpost address');
      err.reason = 'OWN_ADDRESS';
      throw err;
    }
    return a;
  }

  row(name: string): ContactRow {
    const n = checkContactName(name);
    const row = this.d.store().contact(n.nameKey);
    if (!row) throw new ClientError('UNKNOWN_CONTACT', `no contact named "${n.name}"`);
    return row;
  }

  keyChanged(name: string, nameKey: string, cause?: unknown): ClientError {
    const change = this.d.stores.identityChange(nameKey);
    const err = new ClientError(
      'CONTACT_KEY_CHANGED',
      `the identity key of "${name}" changed (trusted ${change?.trustedFingerprint ?? '?'}, new ${change?.newFingerprint ?? '?'})`,
      cause === undefined ? undefined : { cause },
    );
    if (change) err.change = { ...change, contact: name };
    return err;
  }
}

function peer(nameKey: string): ProtocolAddress {
  return ProtocolAddress.new(nameKey, DEVICE_ID);
}
