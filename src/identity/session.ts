/**
 * Signal sessions between satpost users over the SQLite stores: the first message to a new
 * contact starts a session from her fetched prekey bundle (PQXDH; the message is a
 * PreKeySignalMessage), every later one advances the Double Ratchet. Out-of-order delivery
 * is libsignal's (up to 2,000 skipped message keys per chain); a replay is refused.
 *
 * Wire form of a body: type u8 (2 = SignalMessage, 3 = PreKeySignalMessage) || libsignal
 * serialization. Peers are named by the caller (a contact name); the device id is always 1.
 */
import {
  CiphertextMessageType,
  ErrorCode,
  LibSignalErrorBase,
  PreKeySignalMessage,
  ProtocolAddress,
  SignalMessage,
  processPreKeyBundle,
  signalDecrypt,
  signalDecryptPreKey,
  signalEncrypt,
} from '@signalapp/libsignal-client';
import { expected } from '../core/errors.ts';
import { bytesEqual } from '../core/hash.ts';
import { IdentityError, SessionError } from './errors.ts';
import type { SessionSnapshot, SignalStores } from './stores.ts';
import { DEVICE_ID, toLibsignalBundle, verifyBundle } from './bundle.ts';
import { type PrekeyBundle } from '../core/objects/prekey-bundle.ts';
import { own } from './bytes.ts';
import { toHex } from './keys.ts';

export interface EncryptOptions {
  /** The peer's fetched bundle; needed (and only used) when no session exists yet. */
  bundle?: PrekeyBundle;
  /** Expected mailbox of the bundle's identity key (refuses a relay's substitute bundle). */
  mailbox?: Uint8Array;
  now?: Date;
}

export class Sessions {
  private localAddress: ProtocolAddress | undefined;
  /** Per-peer queue: libsignal's read-modify-write of a session must not interleave. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(readonly stores: SignalStores) {}

  /** Made at first use, not in the constructor: opening a client must not load libsignal (stores.ts). */
  private get local(): ProtocolAddress {
    return (this.localAddress ??= ProtocolAddress.new(toHex(this.stores.self.mailbox), DEVICE_ID));
  }

  /**
   * Whether a usable session exists. libsignal stops using a session that never got an answer
   * after 30 days (its PreKey messages would be refused by then); a fresh bundle is needed.
   */
  async hasSession(peer: string, now?: Date): Promise<boolean> {
    const rec = await this.stores.session.getSession(address(peer));
    return rec !== null && rec.hasCurrentState(now);
  }

  /** The identity key trusted for `peer` (the one its sessions authenticate), or null. */
  async remoteIdentityKey(peer: string): Promise<Uint8Array | null> {
    const k = await this.stores.identity.getIdentity(address(peer));
    return k ? k.serialize() : null;
  }

  /**
   * Encrypts to `peer`; returns the body c (type byte || serialized Signal message) once the
   * ratchet step that made it is committed. Steps on one peer run one at a time, but the next
   * one starts as soon as this one has left its state in memory: it does not wait for this
   * commit, so messages in flight to one contact share commits (and a ciphertext still never
   * leaves before its step is on disk: batches commit in order, a later one holding the later
   * state).
   */
  async encryptTo(peer: string, plaintext: Uint8Array, opts: EncryptOptions = {}): Promise<Uint8Array> {
    const out = await this.serialize(peer, async () => {
      const addr = address(peer);
      const before = this.stores.snapshot(peer, DEVICE_ID);
      try {
        // A bundle under a new identity key goes to processPreKeyBundle even when a session
        // exists, so the key change is detected (and refused) instead of silently ignored.
        const known = opts.bundle === undefined ? null : await this.remoteIdentityKey(peer);
        const rekey = opts.bundle !== undefined && known !== null && !bytesEqual(known, opts.bundle.identityKey);
        if (rekey || !(await this.hasSession(peer, opts.now))) {
          if (!opts.bundle) throw new SessionError('NO_SESSION', `no session with "${peer}" and no prekey bundle to start one`);
          verifyBundle(opts.bundle, opts.mailbox);
          await processPreKeyBundle(toLibsignalBundle(opts.bundle), addr, this.local, this.stores.session, this.stores.identity, opts.now);
        }
        const msg = await signalEncrypt(own(plaintext), addr, this.local, this.stores.session, this.stores.identity, opts.now);
        const body = msg.serialize();
        const c = new Uint8Array(1 + body.length);
        c[0] = msg.type();
        c.set(body, 1);
        return c;
      } catch (e) {
        throw await this.fail(peer, before, e, 'ENCRYPT_FAILED');
      }
    });
    await this.stores.commit();
    return out;
  }

  /**
   * Decrypts a body c from `peer`; the ratchet state is durable before the plaintext returns.
   * Pipelined like encryptTo: the next message from `peer` may decrypt while this commit runs.
   */
  async decryptFrom(peer: string, body: Uint8Array): Promise<Uint8Array> {
    const plain = await this.serialize(peer, async () => {
      const addr = address(peer);
      const s = this.stores;
      const before = s.snapshot(peer, DEVICE_ID);
      try {
        if (body.length < 2) throw new SessionError('BAD_MESSAGE', expected('Signal body', 'a type byte and a message', body));
        const rest = own(body.subarray(1));
        if (body[0] === CiphertextMessageType.PreKey) {
          const m = parse(() => PreKeySignalMessage.deserialize(rest));
          return await signalDecryptPreKey(m, addr, this.local, s.session, s.identity, s.preKey, s.signedPreKey, s.kyberPreKey);
        } else if (body[0] === CiphertextMessageType.Whisper) {
          const m = parse(() => SignalMessage.deserialize(rest));
          return await signalDecrypt(m, addr, this.local, s.session, s.identity);
        }
        throw new SessionError('BAD_MESSAGE', expected('Signal body type', '2 (message) or 3 (prekey message)', body[0]));
      } catch (e) {
        throw await this.fail(peer, before, e, 'UNDECRYPTABLE');
      }
    });
    await this.stores.commit();
    return plain;
  }

  /**
   * Maps libsignal's failures to satpost's codes. The failed operation's session changes are
   * dropped (the state before it comes back), but a refused changed identity key is
   * committed: it must be remembered for trustNewIdentity.
   */
  private async fail(peer: string, before: SessionSnapshot, e: unknown, fallback: 'ENCRYPT_FAILED' | 'UNDECRYPTABLE'): Promise<Error> {
    this.stores.restore(before);
    await this.stores.commit();
    if (e instanceof SessionError || (e instanceof IdentityError && e.code !== 'PREKEY_NOT_FOUND')) return e;
    if (LibSignalErrorBase.is(e, ErrorCode.UntrustedIdentity)) {
      const change = this.stores.identityChange(peer);
      const err = new IdentityError(
        'IDENTITY_KEY_CHANGED',
        change
          ? `the identity key of "${peer}" changed (trusted ${change.trustedFingerprint}, new ${change.newFingerprint}); verify it, then trustNewIdentity("${peer}")`
          : `the identity key of "${peer}" is not trusted`,
        { cause: e },
      );
      if (change) err.change = change;
      return err;
    }
    if (LibSignalErrorBase.is(e, ErrorCode.DuplicatedMessage)) {
      return new SessionError('DUPLICATE_MESSAGE', `message from "${peer}" was already received`, { cause: e });
    }
    const reused = findCause(e, (c) => IdentityError.is(c, 'KYBER_PREKEY_REUSED'));
    if (reused) return new SessionError('DUPLICATE_MESSAGE', `prekey message from "${peer}" replays a used last-resort key`, { cause: e });
    return new SessionError(fallback, `${fallback === 'UNDECRYPTABLE' ? 'cannot decrypt message from' : 'cannot encrypt to'} "${peer}": ${(e as Error).message}`, {
      cause: e,
    });
  }

  private serialize<T>(peer: string, op: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(peer) ?? Promise.resolve();
    const next = prev.then(op, op);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(peer, settled);
    void settled.then(() => {
      if (this.queues.get(peer) === settled) this.queues.delete(peer);
    });
    return next;
  }
}

function address(peer: string): ProtocolAddress {
  return ProtocolAddress.new(peer, DEVICE_ID);
}

function parse<T>(f: () => T): T {
  try {
    return f();
  } catch (cause) {
    throw new SessionError('BAD_MESSAGE', 'not a valid Signal message', { cause });
  }
}

function findCause(e: unknown, pred: (c: unknown) => boolean): unknown {
  for (let c: unknown = e, i = 0; c !== undefined && c !== null && i < 8; c = (c as { cause?: unknown }).cause, i++) {
    if (pred(c)) return c;
  }
  return undefined;
}
