/**
 * LookupAnswer (0x25): one relay's answer to a lookup, signed with its Ed25519 node key so
 * that no relay on the return path can forge or alter it. Answers are public (a lookup asks
 * nothing secret); what the signature binds is who says it and for which lookup: the
 * signed bytes are
 *
 *   "satpost/v1/lookup-answer" || the answer's encoding without its signature
 *
 * (the signature is the last field, so that is the full encoding minus its final 64 bytes),
 * and the encoding carries kind, lookupId and target. A client that chose the lookupId
 * therefore knows every verified answer was made for its lookup, now.
 *
 * Pure: no I/O; the Ed25519 implementation is passed in.
 */
import { codec, EncodingError, enumU8, list, optional, string, struct, tagged, u16, u32, type Codec, type Reader, type Writer } from '../codec.ts';
import type { Ed25519 } from '../ed25519.ts';
import { bytesEqual, concatBytes } from '../hash.ts';
import { MAX_RELAY_URL } from '../limits.ts';
import type { NetworkName } from '../network.ts';
import { hash32, id16, mode, network, relayId, sats, sig64, type PaymentMode } from '../objects/fields.ts';
import { LOOKUP_ANSWER_TAG, LOOKUP_KIND_CODES, MAX_LOOKUP_ANSWER, MAX_MULTIADDR, MAX_ORIGIN_ADDRS, lookupProblem, type LookupKind } from './p2p.ts';

/** Longest relay name carried in an answer, UTF-8 bytes (longer names are cut). */
export const MAX_RELAY_NAME = 64;

/** Kind prekeys: this relay holds a bundle for the mailbox, with these pool sizes. */
export interface PrekeyHolding {
  oneTimePreKeys: number;
  kyberPreKeys: number;
}

/** The channel terms of the information document (src/relay/channels.ts offers them). */
export interface ChannelTerms {
  minCapacitySats: number;
  maxCapacitySats: number;
  /** T_ch − tip at open, blocks. */
  minChannelBlocks: number;
  maxChannelBlocks: number;
  /** The smallest claim_margin accepted, blocks. */
  minClaimMarginBlocks: number;
  /** Funding confirmations before HTLCs are accepted. */
  confirmations: number;
  maxFeeRate: number;
}

/** Kind relay-info: the terms of the relay's information document (GET /.well-known/satpost). */
export interface RelayTerms {
  name: string;
  network: NetworkName;
  acceptedModes: PaymentMode[];
  price: { baseSats: number; perBlockSats: number; perDaySats: number };
  maxMessageBytes: number;
  maxRetentionSecs: number;
  confirmations: number;
  lockBlocks: number;
  claimMarginBlocks: number;
  /** Payment-channel terms; absent when the relay offers no channels. */
  channels?: ChannelTerms;
  /** The relay's libp2p listen addresses (with /p2p/<peer id>). */
  multiaddrs: string[];
}

interface Head {
  lookupId: Uint8Array;
  /** The lookup's target (mailbox, or 32 zero bytes). */
  target: Uint8Array;
  /** The answering relay's Ed25519 node public key: the signer. */
  relayId: Uint8Array;
  /** Where the relay serves its HTTP API. */
  url: string;
}

export type UnsignedLookupAnswer = Head & ({ kind: 'prekeys'; prekeys: PrekeyHolding } | { kind: 'relay-info'; relay: RelayTerms });
export type LookupAnswer = UnsignedLookupAnswer & { signature: Uint8Array };

const kindCodec = enumU8(LOOKUP_KIND_CODES, 'kind');
const headCodec = struct({ lookupId: id16('lookupId'), target: hash32('target'), relayId: relayId(), url: string(MAX_RELAY_URL, 'url') }, 'LookupAnswer');
const prekeysCodec = struct({ oneTimePreKeys: u32('oneTimePreKeys'), kyberPreKeys: u32('kyberPreKeys') }, 'PrekeyHolding');
const relayCodec = struct(
  {
    name: string(MAX_RELAY_NAME, 'name'),
    network: network(),
    acceptedModes: list(mode(), 2, 'acceptedModes'),
    price: struct({ baseSats: sats('baseSats'), perBlockSats: sats('perBlockSats'), perDaySats: sats('perDaySats') }, 'price'),
    maxMessageBytes: u32('maxMessageBytes'),
    maxRetentionSecs: u32('maxRetentionSecs'),
    confirmations: u16('confirmations'),
    lockBlocks: u32('lockBlocks'),
    claimMarginBlocks: u32('claimMarginBlocks'),
    channels: optional(
      struct(
        {
          minCapacitySats: sats('minCapacitySats'),
          maxCapacitySats: sats('maxCapacitySats'),
          minChannelBlocks: u32('minChannelBlocks'),
          maxChannelBlocks: u32('maxChannelBlocks'),
          minClaimMarginBlocks: u32('minClaimMarginBlocks'),
          confirmations: u16('channelConfirmations'),
          maxFeeRate: u32('maxFeeRate'),
        },
        'channels',
      ),
      'channels',
    ),
    multiaddrs: list(string(MAX_MULTIADDR, 'multiaddr'), MAX_ORIGIN_ADDRS, 'multiaddrs'),
  },
  'RelayTerms',
);

function writeUnsigned(w: Writer, a: UnsignedLookupAnswer): void {
  const problem = lookupProblem(a);
  if (problem !== undefined) throw new EncodingError('BAD_VALUE', `LookupAnswer: ${problem}`);
  kindCodec.write(w, a.kind);
  headCodec.write(w, a);
  if (a.kind === 'prekeys') prekeysCodec.write(w, a.prekeys);
  else relayCodec.write(w, a.relay as Parameters<typeof relayCodec.write>[1]);
}

function readUnsigned(r: Reader): UnsignedLookupAnswer {
  const kind: LookupKind = kindCodec.read(r);
  const head = headCodec.read(r);
  let out: UnsignedLookupAnswer;
  if (kind === 'prekeys') out = { kind, ...head, prekeys: prekeysCodec.read(r) };
  else {
    const { channels, ...rest } = relayCodec.read(r);
    out = { kind, ...head, relay: { ...rest, ...(channels === undefined ? {} : { channels }) } };
  }
  const problem = lookupProblem(out);
  // A refusal of the input, so an EncodingError of its own (codec.decode would also wrap a plain
  // Error, but as if the codec had crashed).
  if (problem !== undefined) throw new EncodingError('BAD_VALUE', `LookupAnswer: ${problem}`);
  return out;
}

const unsignedBody = codec<UnsignedLookupAnswer>('LookupAnswer', writeUnsigned, readUnsigned);
const sig = sig64();

export const UnsignedLookupAnswerCodec: Codec<UnsignedLookupAnswer> = tagged(LOOKUP_ANSWER_TAG, unsignedBody);
export const LookupAnswerCodec: Codec<LookupAnswer> = tagged(
  LOOKUP_ANSWER_TAG,
  codec<LookupAnswer>(
    'LookupAnswer',
    (w, a) => {
      unsignedBody.write(w, a);
      sig.write(w, a.signature);
    },
    (r) => ({ ...unsignedBody.read(r), signature: sig.read(r) }),
  ),
);

const DOMAIN = new TextEncoder().encode('satpost/v1/lookup-answer');

export function lookupAnswerSigningBytes(a: UnsignedLookupAnswer): Uint8Array {
  return concatBytes(DOMAIN, UnsignedLookupAnswerCodec.encode(a));
}

/** The signed answer's encoding (at most MAX_LOOKUP_ANSWER bytes; throws RangeError beyond). */
export function signLookupAnswer(a: UnsignedLookupAnswer, sign: (msg: Uint8Array) => Uint8Array): Uint8Array {
  const bytes = LookupAnswerCodec.encode({ ...a, signature: sign(lookupAnswerSigningBytes(a)) });
  if (bytes.length > MAX_LOOKUP_ANSWER) throw new RangeError(`lookup answer of ${bytes.length} bytes exceeds ${MAX_LOOKUP_ANSWER}`);
  return bytes;
}

/**
 * The answer in `bytes` if it decodes, is at most MAX_LOOKUP_ANSWER bytes, answers this
 * lookup (kind, lookupId, target) and carries its relay's signature; else undefined.
 */
export function openLookupAnswer(bytes: Uint8Array, lookup: { kind: LookupKind; lookupId: Uint8Array; target: Uint8Array }, ed: Ed25519): LookupAnswer | undefined {
  if (bytes.length > MAX_LOOKUP_ANSWER) return undefined;
  let a: LookupAnswer;
  try {
    a = LookupAnswerCodec.decode(bytes);
  } catch {
    return undefined;
  }
  if (a.kind !== lookup.kind || !bytesEqual(a.lookupId, lookup.lookupId) || !bytesEqual(a.target, lookup.target)) return undefined;
  // The signed bytes are the encoding minus the trailing signature: no re-encoding needed.
  const signed = concatBytes(DOMAIN, bytes.subarray(0, bytes.length - 64));
  return ed.verify(a.relayId, signed, a.signature) ? a : undefined;
}
