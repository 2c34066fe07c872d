/**
 * What `satpost address` prints from public.json, with no passphrase. Shared by the command
 * (./address.ts) and the fast path of bin/satpost.js (./fast.ts), which must print the same
 * bytes: neither loads commander, the client or libsignal.
 */
import { DataDir, type PublicInfo } from '../client/datadir.ts';
import { decodeAddress } from '../identity/address.ts';
import { formatOutput } from './output.ts';

/** public.json of an initialized directory; undefined when it has none (made before public.json existed: an unlock writes it). */
export function savedPublicInfo(dir: DataDir): PublicInfo | undefined {
  return dir.state() === 'initialized' ? dir.readPublic() : undefined;
}

/** The address as `address` prints it; with --json also the identity key (hex) the address carries: what anyone checks a relay's bytes for (docs/protocol.md "Tags"). */
export function addressOutput(flags: { json?: boolean }, address: string, fingerprint: string): string {
  const identityKey = Buffer.from(decodeAddress(address).identityKey).toString('hex');
  return formatOutput(flags, { address, fingerprint, identityKey }, () => [address]);
}
