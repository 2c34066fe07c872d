/**
 * A whole satpost message as Alice hands it to a relay, and as Carol opens it (docs/protocol.md
 * "Envelope").
 *
 *   signal        = Signal ciphertext (type u8 || serialized) of the MessagePlain (0x06)
 *   body c        = HPKE seal (libsignal PublicKey.seal, RFC 9180) of SealedBodyPlain (0x0f:
 *                   signal + zero padding) to Carol's identity key, info "satpost/v1/body",
 *                   aad tag || hk; exactly a size class long (16 KiB, 32 KiB, ... 4 MiB)
 *   hc            = H(c)
 *   sealed header = HPKE seal of SealedHeaderPlain (0x03 v2) to Carol's identity key,
 *                   info "satpost/v1/header", aad tag || hk
 *
 * The header carries Alice's identity key, r for sender-pays, and a deniable authenticator over
 * (hc, hk, relayId, tag, timestamp, mode) (./authenticator.ts). The relay stores both
 * sealed parts and sees neither inside: no identity key, no Signal ratchet header, one length
 * per size class. Two seals, not one: Carol must open the header (sender, r, authenticator)
 * before she pays, while the body stays locked under k until she has paid.
 */
import { PublicKey } from '@signalapp/libsignal-client';
import { H, bytesEqual, concatBytes } from '../core/hash.ts';
import { expected } from '../core/errors.ts';
import { MAX_SEALED_HEADER } from '../core/limits.ts';
import { SEALED_HEADER_TAG, SEALED_HEADER_VERSION, SealedHeaderPlainCodec, type SealedHeaderPlain } from '../core/objects/sealed-header.ts';
import { MAX_SIZE_CLASS, SealedBodyPlainCodec, isSizeClass, padSealedBody, sizeClassFor } from '../core/objects/sealed-body.ts';
import { decodeMessage, encodeMessage, type ConversationTags, type MessageContent } from '../core/objects/message.ts';
import type { PaymentMode } from '../core/objects/fields.ts';
import type { UnlockedIdentity } from '../identity/identity.ts';
import type { Sessions } from '../identity/session.ts';
import type { PrekeyBundle } from '../core/objects/prekey-bundle.ts';
import { SessionError } from '../identity/errors.ts';
import { mailboxIdOf, toHex } from '../identity/keys.ts';
import { own } from '../identity/bytes.ts';
import { senderAuthenticator, verifySenderAuthenticator } from './authenticator.ts';
import { EnvelopeError } from './errors.ts';

export const HEADER_INFO = 'satpost/v1/header';
export const BODY_INFO = 'satpost/v1/body';
/** What libsignal's PublicKey.seal adds: suite byte, 32-byte encapsulated key, 16-byte tag. */
export const SEAL_OVERHEAD = 49;

export interface Party {
  identity: UnlockedIdentity;
  sessions: Sessions;
}

export interface SealInput {
  sender: Party;
  recipient: {
    /** The sender's local contact name for the recipient (the Signal session's peer). */
    peer: string;
    identityKey: Uint8Array;
    /** Fetched prekey bundle, needed when no session exists yet. */
    bundle?: PrekeyBundle;
  };
  message: MessageContent;
  /** From the relay's quote. */
  hk: Uint8Array;
  relayId: Uint8Array;
  /** The message's tag (src/core/objects/tags.ts): what the relay stores it under. */
  tag: Uint8Array;
  mode: PaymentMode;
  /** Sender-pays receipt secret (32 bytes); required iff mode is sender-pays. */
  r?: Uint8Array;
  /** Milliseconds since the epoch; header timestamp and MessagePlain.sentAt. */
  now: number;
  /** The conversation's addressing told to the recipient inside the encryption (MessagePlain.tags). */
  tags?: ConversationTags;
}

export interface SealedEnvelope {
  sealedHeader: Uint8Array;
  /** The sealed body: what the relay stores (under k), exactly a size class long. */
  body: Uint8Array;
  hc: Uint8Array;
}

export async function sealEnvelope(input: SealInput): Promise<SealedEnvelope> {
  checkMode(input);
  checkTag(input.tag);
  const signal = await encryptSignal(input);
  const body = sealBody({ signal, recipient: input.recipient, tag: input.tag, hk: input.hk });
  const hc = await hashBody(body);
  return { sealedHeader: sealHeader({ ...input, hc }), body, hc };
}

/**
 * H(c) of a sealed body (16 KiB or more): with the platform's native SHA-256 (WebCrypto, in
 * Node and every browser; ~5x faster than SHA-256 in JavaScript at these sizes), else H.
 */
async function hashBody(body: Uint8Array): Promise<Uint8Array> {
  const subtle = (globalThis as { crypto?: { subtle?: SubtleHash } }).crypto?.subtle;
  if (subtle === undefined) return H(body);
  return new Uint8Array(await subtle.digest('SHA-256', body));
}

interface SubtleHash {
  digest(algorithm: 'SHA-256', data: Uint8Array): Promise<ArrayBuffer>;
}

/** A tag is 32 bytes (../core/objects/tags.ts); checked before any session state moves. */
function checkTag(tag: Uint8Array): void {
  if (!(tag instanceof Uint8Array) || tag.length !== 32) throw new EnvelopeError('BAD_INPUT', expected('tag', '32 bytes', tag));
}

function checkMode(input: { mode: PaymentMode; r?: Uint8Array | undefined }): void {
  if ((input.mode === 'sender-pays') !== (input.r !== undefined)) {
    throw new EnvelopeError('BAD_INPUT', expected('r', 'present iff mode is sender-pays', input.r === undefined ? 'absent' : 'present'));
  }
}

/**
 * The Signal message alone. It depends on neither the relay nor k, so a sender can learn its
 * size class (sizeClassOf, what an offer states) before any quote, then seal the body and the
 * header per quote. sealEnvelope = encryptSignal + sealBody + sealHeader.
 */
export async function encryptSignal(input: Pick<SealInput, 'sender' | 'recipient' | 'message' | 'now' | 'tags'>): Promise<Uint8Array> {
  const { sender, recipient } = input;
  if (recipient.bundle && !bytesEqual(recipient.bundle.identityKey, recipient.identityKey)) {
    throw new EnvelopeError('BAD_INPUT', 'the prekey bundle belongs to another identity key than the recipient');
  }
  recipientPublicKey(recipient.identityKey);
  let plain: Uint8Array;
  try {
    plain = encodeMessage({ sentAt: input.now, content: input.message, tags: input.tags });
  } catch (cause) {
    throw new EnvelopeError('BAD_INPUT', `message cannot be encoded: ${(cause as Error).message}`, { cause });
  }
  // Refused before the session moves: a message too large for the largest class.
  if (sizeClassFor(plain.length + SIGNAL_OVERHEAD_BOUND + SEAL_OVERHEAD) === undefined) {
    throw new EnvelopeError('BAD_INPUT', expected('message', `at most ${MAX_SIZE_CLASS - SIGNAL_OVERHEAD_BOUND - SEAL_OVERHEAD} bytes encoded`, `${plain.length} bytes`));
  }
  const signal = await sender.sessions.encryptTo(recipient.peer, plain, {
    ...(recipient.bundle ? { bundle: recipient.bundle } : {}),
    mailbox: mailboxIdOf(recipient.identityKey),
    now: new Date(input.now),
  });
  // The session may be older than the address we were given: the body must go to the same key as the header.
  const sessionKey = await sender.sessions.remoteIdentityKey(recipient.peer);
  if (!sessionKey || !bytesEqual(sessionKey, recipient.identityKey)) {
    throw new EnvelopeError('BAD_INPUT', `the session with "${recipient.peer}" is with another identity key than the recipient's`);
  }
  return signal;
}

/**
 * Bytes a Signal message may add to its plaintext (type byte, ratchet header, MAC, and for a
 * PreKey message the identity, base and prekey ids and the Kyber ciphertext), rounded up: a
 * message is refused before encryption when even this much would not fit the largest class.
 */
const SIGNAL_OVERHEAD_BOUND = 2048;

/**
 * The largest size class the Signal message of `message` can make (its plaintext with the
 * conversation tags, plus SIGNAL_OVERHEAD_BOUND): what a price asked before encrypting (a send
 * preview) offers, since encrypting moves the session. The real class is this or smaller.
 * Undefined when the message cannot fit the largest class.
 */
export function sizeClassBound(message: MessageContent, now: number): number | undefined {
  const tags: ConversationTags = { replySeed: new Uint8Array(32), seq: 0, ack: 0 };
  return sizeClassFor(encodeMessage({ sentAt: now, content: message, tags }).length + SIGNAL_OVERHEAD_BOUND + SEAL_OVERHEAD);
}

/** The size class of the sealed body a Signal message makes: what the offer states. */
export function sizeClassOf(signal: Uint8Array): number {
  return padSealedBody(signal, SEAL_OVERHEAD).sizeClass;
}

/** The sealed body c for a Signal message, bound to one tag and one relay's k through the aad. */
export function sealBody(input: { signal: Uint8Array; recipient: { identityKey: Uint8Array }; tag: Uint8Array; hk: Uint8Array }): Uint8Array {
  checkTag(input.tag);
  const recipientKey = recipientPublicKey(input.recipient.identityKey);
  let plain: Uint8Array;
  try {
    plain = padSealedBody(input.signal, SEAL_OVERHEAD).plain;
  } catch (cause) {
    throw new EnvelopeError('BAD_INPUT', `message cannot be sealed: ${(cause as Error).message}`, { cause });
  }
  return recipientKey.seal(own(plain), BODY_INFO, own(concatBytes(input.tag, input.hk)));
}

/** The sealed header for a sealed body whose hash is hc, bound to one relay's quote (hk, relayId). */
export function sealHeader(
  input: Pick<SealInput, 'hk' | 'relayId' | 'tag' | 'mode' | 'r' | 'now'> & { sender: Pick<Party, 'identity'>; recipient: { identityKey: Uint8Array }; hc: Uint8Array },
): Uint8Array {
  checkMode(input);
  checkTag(input.tag);
  const recipientKey = recipientPublicKey(input.recipient.identityKey);
  const fields = { hc: input.hc, hk: input.hk, relayId: input.relayId, tag: input.tag, timestamp: input.now, mode: input.mode };
  const parties = { senderIdentityKey: input.sender.identity.publicKey, recipientIdentityKey: input.recipient.identityKey };
  const header: SealedHeaderPlain = {
    senderIdentityKey: input.sender.identity.publicKey,
    ...fields,
    r: input.r,
    senderAuth: senderAuthenticator(input.sender.identity.keyPair.privateKey, parties, fields),
  };
  return recipientKey.seal(own(SealedHeaderPlainCodec.encode(header)), HEADER_INFO, own(concatBytes(input.tag, input.hk)));
}

function recipientPublicKey(identityKey: Uint8Array): PublicKey {
  try {
    return PublicKey.deserialize(own(identityKey));
  } catch (cause) {
    throw new EnvelopeError('BAD_INPUT', 'recipient identity key is not a Curve25519 key', { cause });
  }
}

export interface OpenInput {
  recipient: Party;
  sealedHeader: Uint8Array;
  body: Uint8Array;
  /** The tag as stored by the relay (deposit / receipt), not taken from the header. */
  tag: Uint8Array;
  hk: Uint8Array;
  /** Contact name for a sender key; default: hex of the sender's mailbox id. */
  peerFor?: (senderIdentityKey: Uint8Array) => string;
}

export interface HeaderView {
  header: SealedHeaderPlain;
  senderIdentityKey: Uint8Array;
}

export interface OpenedEnvelope extends HeaderView {
  senderPeer: string;
  sentAt: number;
  message: MessageContent;
  /** What the sender told of the conversation's addressing (absent from a sender that told nothing). */
  tags?: ConversationTags;
}

export function defaultPeerName(identityKey: Uint8Array): string {
  return toHex(mailboxIdOf(identityKey));
}

/**
 * Opens and checks the header only: lets Carol see who sent what to which relay, with what
 * terms, and refuse it before paying anything (the body stays locked under k until then).
 */
export function openHeader(identity: UnlockedIdentity, sealedHeader: Uint8Array, tag: Uint8Array, hk: Uint8Array): HeaderView {
  if (sealedHeader.length > MAX_SEALED_HEADER) {
    throw new EnvelopeError('HEADER_UNREADABLE', expected('sealed header', `at most ${MAX_SEALED_HEADER} bytes`, sealedHeader));
  }
  let plain: Uint8Array;
  try {
    plain = identity.keyPair.privateKey.open(own(sealedHeader), HEADER_INFO, own(concatBytes(tag, hk)));
  } catch (cause) {
    throw new EnvelopeError('HEADER_UNREADABLE', 'sealed header does not open with this identity for this tag and k', { cause });
  }
  if (plain[0] === SEALED_HEADER_TAG && plain[1] !== undefined && plain[1] < SEALED_HEADER_VERSION) {
    throw new EnvelopeError(
      'UNSUPPORTED_VERSION',
      `the message is in envelope format version ${plain[1]} (a signed sender and an unsealed body); this client opens version ${SEALED_HEADER_VERSION} only: ask the sender to send it again`,
    );
  }
  let header: SealedHeaderPlain;
  try {
    header = SealedHeaderPlainCodec.decode(plain);
  } catch (cause) {
    throw new EnvelopeError('HEADER_UNREADABLE', `sealed header content is malformed: ${(cause as Error).message}`, { cause });
  }
  if (!bytesEqual(header.tag, tag) || !bytesEqual(header.hk, hk)) {
    throw new EnvelopeError('HEADER_MISMATCH', 'header names another tag or k than the stored message');
  }
  let ok = false;
  try {
    const parties = { senderIdentityKey: header.senderIdentityKey, recipientIdentityKey: identity.publicKey };
    ok = verifySenderAuthenticator(identity.keyPair.privateKey, parties, header, header.senderAuth);
  } catch {
    ok = false; // a sender key that is not a curve point
  }
  if (!ok) throw new EnvelopeError('BAD_SENDER_AUTH', 'the sender authenticator in the header does not verify');
  return { header, senderIdentityKey: header.senderIdentityKey };
}

/** The Signal message inside a sealed body (after H(c) = hc was checked). */
function openBody(identity: UnlockedIdentity, body: Uint8Array, tag: Uint8Array, hk: Uint8Array): Uint8Array {
  if (!isSizeClass(body.length)) throw new EnvelopeError('BODY_UNDECRYPTABLE', expected('sealed body length', 'a size class', body.length));
  try {
    const plain = identity.keyPair.privateKey.open(own(body), BODY_INFO, own(concatBytes(tag, hk)));
    return SealedBodyPlainCodec.decode(plain).signal;
  } catch (cause) {
    throw new EnvelopeError('BODY_UNDECRYPTABLE', `sealed body does not open to a Signal message: ${(cause as Error).message}`, { cause });
  }
}

export async function openEnvelope(input: OpenInput): Promise<OpenedEnvelope> {
  const view = openHeader(input.recipient.identity, input.sealedHeader, input.tag, input.hk);
  if (!bytesEqual(await hashBody(input.body), view.header.hc)) {
    throw new EnvelopeError('BODY_HASH_MISMATCH', 'H(body) is not the hc the sender authenticated');
  }
  const signal = openBody(input.recipient.identity, input.body, input.tag, input.hk);
  const peer = (input.peerFor ?? defaultPeerName)(view.senderIdentityKey);
  let plain: Uint8Array;
  try {
    plain = await input.recipient.sessions.decryptFrom(peer, signal);
  } catch (e) {
    if (SessionError.is(e, 'DUPLICATE_MESSAGE')) throw new EnvelopeError('DUPLICATE_MESSAGE', `message from "${peer}" was already received`, { cause: e });
    if (e instanceof SessionError) throw new EnvelopeError('BODY_UNDECRYPTABLE', `body does not decrypt: ${e.message}`, { cause: e });
    throw e;
  }
  // The Signal session authenticates a key too: it must be the one the header's authenticator names.
  const sessionKey = await input.recipient.sessions.remoteIdentityKey(peer);
  if (!sessionKey || !bytesEqual(sessionKey, view.senderIdentityKey)) {
    throw new EnvelopeError('SENDER_MISMATCH', `the Signal session with "${peer}" is not with the header's sender key`);
  }
  let m: { sentAt: number; content: MessageContent; tags: ConversationTags | undefined };
  try {
    m = decodeMessage(plain);
  } catch (cause) {
    throw new EnvelopeError('MESSAGE_MALFORMED', `decrypted message is malformed: ${(cause as Error).message}`, { cause });
  }
  return { ...view, senderPeer: peer, sentAt: m.sentAt, message: m.content, ...(m.tags ? { tags: m.tags } : {}) };
}
