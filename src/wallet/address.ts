/** Addresses to scriptPubKeys, refusing other networks' addresses and bad checksums. */
import { Address, OutScript } from '@scure/btc-signer';
import { expected } from '../core/errors.ts';
import { NETWORKS, type BtcNetwork } from '../core/network.ts';
import { WalletError } from './errors.ts';

export function addressToScript(address: string, network: BtcNetwork): Uint8Array {
  if (typeof address !== 'string' || address.length === 0 || address.length > 100) {
    throw new WalletError('BAD_ADDRESS', expected('address', 'a Bitcoin address', address));
  }
  try {
    return OutScript.encode(Address(network).decode(address));
  } catch (cause) {
    const other = Object.values(NETWORKS).find((n) => n.bech32 !== network.bech32 && decodes(address, n));
    const why = other ? `an address of ${other.name}` : 'a malformed address or a wrong checksum';
    throw new WalletError('BAD_ADDRESS', expected('address', `a ${network.name} address`, address) + ` (${why})`, {
      cause,
    });
  }
}

function decodes(address: string, network: BtcNetwork): boolean {
  try {
    Address(network).decode(address);
    return true;
  } catch {
    return false;
  }
}
