/**
 * A whole satpost message as Alice hands it to a relay, and as Carol opens it.
 *
 *   body c        = Signal ciphertext (type u8 || serialized) of the padded MessagePlain (0x06)
 *   hc            = H(c)
 *   sealed header = HPKE seal (libsignal PublicKey.seal, RFC 9180) of SealedHeaderPlain (0x03)
 *                   to Carol's identity key, info "satpost/v1/header", aad mailbox || hk
 *
 * The header carries Alice's identity key and her XEdDSA signature over
 * (hc, hk, relayId, mailbox, timestamp, mode), and r for sender-pays. The relay sees neither.
 * The aad binds the header to the mailbox and to this relay's k: a header cannot be moved to
 * another message or mailbox without failing to open.
 */
import { PublicKey } from '@signalapp/libsignal-client';
import { H, bytesEqual, concatBytes } from '../core/hash.ts';
import { expected } from '../core/errors.ts';
import { MAX_SEALED_HEADER } from '../core/limits.ts';
import { SealedHeaderPlainCodec, senderSigningBytes, type SealedHeaderPlain } from '../core/objects/sealed-header.ts';
import { padMessage, unpadMessage, type MessageContent } from '../core/objects/message.ts';
import type { PaymentMode } from '../core/objects/fields.ts';
import type { UnlockedIdentity } from '../identity/identity.ts';
import type { Sessions } from '../identity/session.ts';
import type { PrekeyBundle } from '../identity/bundle.ts';
import { SessionError } from '../identity/errors.ts';
import { mailboxIdOf, toHex } from '../identity/keys.ts';
import { own } from '../identity/bytes.ts';
import { EnvelopeError } from './errors.ts';

export const HEADER_INFO = 'satpost/v1/header';

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
  mailbox: Uint8Array;
  mode: PaymentMode;
  /** Sender-pays receipt secret (32 bytes); required iff mode is sender-pays. */
  r?: Uint8Array;
  /** Milliseconds since the epoch; header timestamp and MessagePlain.sentAt. */
  now: number;
}

export interface SealedEnvelope {
  sealedHeader: Uint8Array;
  body: Uint8Array;
  hc: Uint8Array;
}

export async function sealEnvelope(input: SealInput): Promise<SealedEnvelope> {
  if ((input.mode === 'sender-pays') !== (input.r !== undefined)) {
    throw new EnvelopeError('BAD_INPUT', expected('r', 'present iff mode is sender-pays', input.r === undefined ? 'absent' : 'present'));
  }
  const body = await encryptBody(input);
  const hc = H(body);
  return { sealedHeader: sealHeader({ ...input, hc }), body, hc };
}

/**
 * The Signal body c alone. It depends on neither the relay nor k, so a sender can learn
 * len(c) (the size an offer must state exactly) before any quote, then seal one header per
 * quote with sealHeader. sealEnvelope = encryptBody + sealHeader.
 */
export async function encryptBody(input: Pick<SealInput, 'sender' | 'recipient' | 'message' | 'mailbox' | 'now'>): Promise<Uint8Array> {
  const { sender, recipient } = input;
  if (!bytesEqual(input.mailbox, mailboxIdOf(recipient.identityKey))) {
    throw new EnvelopeError('BAD_INPUT', 'mailbox is not the mailbox of the recipient identity key');
  }
  if (recipient.bundle && !bytesEqual(recipient.bundle.identityKey, recipient.identityKey)) {
    throw new EnvelopeError('BAD_INPUT', 'the prekey bundle belongs to another identity key than the recipient');
  }
  recipientPublicKey(recipient.identityKey);
  let padded: Uint8Array;
  try {
    padded = padMessage({ sentAt: input.now, content: input.message });
  } catch (cause) {
    throw new EnvelopeError('BAD_INPUT', `message cannot be encoded: ${(cause as Error).message}`, { cause });
  }
  const body = await sender.sessions.encryptTo(recipient.peer, padded, {
    ...(recipient.bundle ? { bundle: recipient.bundle } : {}),
    mailbox: input.mailbox,
    now: new Date(input.now),
  });
  // The session may be older than the address we were given: the body must go to the same key as the header.
  const sessionKey = await sender.sessions.remoteIdentityKey(recipient.peer);
  if (!sessionKey || !bytesEqual(sessionKey, recipient.identityKey)) {
    throw new EnvelopeError('BAD_INPUT', `the session with "${recipient.peer}" is with another identity key than the recipient's`);
  }
  return body;
}

/** The sealed header for a body whose hash is hc, bound to one relay's quote (hk, relayId). */
export function sealHeader(
  input: Pick<SealInput, 'hk' | 'relayId' | 'mailbox' | 'mode' | 'r' | 'now'> & { sender: Pick<Party, 'identity'>; recipient: { identityKey: Uint8Array }; hc: Uint8Array },
): Uint8Array {
  if ((input.mode === 'sender-pays') !== (input.r !== undefined)) {
    throw new EnvelopeError('BAD_INPUT', expected('r', 'present iff mode is sender-pays', input.r === undefined ? 'absent' : 'present'));
  }
  if (!bytesEqual(input.mailbox, mailboxIdOf(input.recipient.identityKey))) {
    throw new EnvelopeError('BAD_INPUT', 'mailbox is not the mailbox of the recipient identity key');
  }
  const recipientKey = recipientPublicKey(input.recipient.identityKey);
  const signed = { hc: input.hc, hk: input.hk, relayId: input.relayId, mailbox: input.mailbox, timestamp: input.now, mode: input.mode };
  const header: SealedHeaderPlain = {
    senderIdentityKey: input.sender.identity.publicKey,
    ...signed,
    r: input.r,
    senderSignature: input.sender.identity.keyPair.privateKey.sign(own(senderSigningBytes(signed))),
  };
  return recipientKey.seal(own(SealedHeaderPlainCodec.encode(header)), HEADER_INFO, own(concatBytes(input.mailbox, input.hk)));
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
  /** As stored by the relay (deposit / receipt), not taken from the header. */
  mailbox: Uint8Array;
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
}

export function defaultPeerName(identityKey: Uint8Array): string {
  return toHex(mailboxIdOf(identityKey));
}

/**
 * Opens and checks the header only: lets Carol see who sent what to which relay, with what
 * terms, and refuse it before paying anything (the body stays sealed under k until then).
 */
export function openHeader(identity: UnlockedIdentity, sealedHeader: Uint8Array, mailbox: Uint8Array, hk: Uint8Array): HeaderView {
  if (sealedHeader.length > MAX_SEALED_HEADER) {
    throw new EnvelopeError('HEADER_UNREADABLE', expected('sealed header', `at most ${MAX_SEALED_HEADER} bytes`, sealedHeader));
  }
  let plain: Uint8Array;
  try {
    plain = identity.keyPair.privateKey.open(own(sealedHeader), HEADER_INFO, own(concatBytes(mailbox, hk)));
  } catch (cause) {
    throw new EnvelopeError('HEADER_UNREADABLE', 'sealed header does not open with this identity for this mailbox and k', { cause });
  }
  let header: SealedHeaderPlain;
  try {
    header = SealedHeaderPlainCodec.decode(plain);
  } catch (cause) {
    throw new EnvelopeError('HEADER_UNREADABLE', `sealed header content is malformed: ${(cause as Error).message}`, { cause });
  }
  if (!bytesEqual(header.mailbox, mailbox) || !bytesEqual(header.hk, hk)) {
    throw new EnvelopeError('HEADER_MISMATCH', 'header names another mailbox or k than the stored message');
  }
  let ok = false;
  try {
    ok = PublicKey.deserialize(own(header.senderIdentityKey)).verify(own(senderSigningBytes(header)), own(header.senderSignature));
  } catch {
    ok = false;
  }
  if (!ok) throw new EnvelopeError('BAD_SENDER_SIGNATURE', 'sender signature in the header does not verify');
  return { header, senderIdentityKey: header.senderIdentityKey };
}

export async function openEnvelope(input: OpenInput): Promise<OpenedEnvelope> {
  const view = openHeader(input.recipient.identity, input.sealedHeader, input.mailbox, input.hk);
  if (!bytesEqual(H(input.body), view.header.hc)) {
    throw new EnvelopeError('BODY_HASH_MISMATCH', 'H(body) is not the hc the sender signed');
  }
  const peer = (input.peerFor ?? defaultPeerName)(view.senderIdentityKey);
  let padded: Uint8Array;
  try {
    padded = await input.recipient.sessions.decryptFrom(peer, input.body);
  } catch (e) {
    if (SessionError.is(e, 'DUPLICATE_MESSAGE')) throw new EnvelopeError('DUPLICATE_MESSAGE', `message from "${peer}" was already received`, { cause: e });
    if (e instanceof SessionError) throw new EnvelopeError('BODY_UNDECRYPTABLE', `body does not decrypt: ${e.message}`, { cause: e });
    throw e;
  }
  // The Signal session authenticates a key too: it must be the one that signed the header.
  const sessionKey = await input.recipient.sessions.remoteIdentityKey(peer);
  if (!sessionKey || !bytesEqual(sessionKey, view.senderIdentityKey)) {
    throw new EnvelopeError('SENDER_MISMATCH', `the Signal session with "${peer}" is not with the header's sender key`);
  }
  let m: { sentAt: number; content: MessageContent };
  try {
    m = unpadMessage(padded);
  } catch (cause) {
    throw new EnvelopeError('MESSAGE_MALFORMED', `decrypted message is malformed: ${(cause as Error).message}`, { cause });
  }
  return { ...view, senderPeer: peer, sentAt: m.sentAt, message: m.content };
}
