/**
 * Pieces shared by the devnet server's route modules: the error a route throws to
 * answer with a status, and address decoding with the server's error shape.
 */
import { Address, OutScript } from '@scure/btc-signer';
import type { BtcNetwork } from '../../core/network.ts';
import { expected } from '../../core/errors.ts';

export const HASH_SCHEMA = { type: 'string', pattern: '^[0-9a-fA-F]{64}$' } as const;

/** Thrown by a route to answer `status` with `message` (text or JSON per route family). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** scriptPubKey of an address on this network; another network's or a malformed address is a 400. */
export function addressScript(address: string, network: BtcNetwork): Uint8Array {
  try {
    return OutScript.encode(Address(network).decode(address));
  } catch (cause) {
    const err = new HttpError(400, expected('address', `a ${network.name} address (${network.bech32}1...)`, address));
    err.cause = cause;
    throw err;
  }
}
