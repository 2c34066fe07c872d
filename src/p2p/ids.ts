import type { PeerId } from '@libp2p/interface';
import { hex } from '@scure/base';

/** A relay's id (its Ed25519 node public key) from its peer id; undefined for other key types. */
export function relayIdOf(peer: PeerId): Uint8Array | undefined {
  return peer.type === 'Ed25519' ? peer.publicKey.raw : undefined;
}

export const idHex = (b: Uint8Array): string => hex.encode(b);
