/**
 * Who made a deposit, as far as the relay's unpaid allowance cares (docs/relay-api.md
 * "Quotas"). A deposit carries nothing that costs its maker anything to change (a
 * recipient-pays deposit carries no key at all; a sender-pays payerPubkey is fresh per
 * message), so the only identifier an attacker cannot mint for free is the network
 * address: an IPv4 address, or an IPv6 /64 (one host is routinely given a whole /64).
 *
 * The relay keeps only a keyed hash of it (HMAC-SHA256 under a key that lives in memory,
 * truncated to 16 bytes), and only on messages that are still unpaid: a database copy
 * does not tell which address deposited what, not even by trying all 2^32 IPv4 addresses.
 * The cost: after a restart the same address gets a new tag, so per-depositor counts start
 * afresh (the per-mailbox unpaid allowance still holds).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

/** The part of an address that identifies a depositor: IPv4 as is, IPv6 its first 64 bits. */
export function depositorPrefix(address: string): string {
  const plain = address.split('%')[0]!.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(plain);
  if (mapped) return mapped[1]!;
  if (isIPv4(plain) || !isIPv6(plain)) return plain;
  const [head, tail] = plain.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail (a:b::1.2.3.4) is in the lower 64 bits, which are dropped anyway.
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':') + '::/64';
}

export class DepositorTags {
  private readonly key = randomBytes(32);

  /** The 16-byte tag stored with an unpaid message deposited from `address`. */
  tag(address: string): Uint8Array {
    return new Uint8Array(createHmac('sha256', this.key).update(depositorPrefix(address)).digest().subarray(0, 16));
  }
}
