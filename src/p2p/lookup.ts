/**
 * Lookups forwarded relay to relay on '/satpost/lookup/1.0.0' (docs/protocol.md, "Relay
 * network"), over the same forwarding as mailbox queries (./forwarding.ts): who holds a
 * prekey bundle for a mailbox (kind prekeys), and which relays exist on what terms (kind
 * relay-info). A lookup needs no owner's signature: anyone may ask. Each relay answers with
 * a LookupAnswer signed by its node key (./lookup-answer.ts); every relay on the return path
 * checks the answers its peers return and drops those that fail (counted as `dropped`), and
 * the client checks them again, so a relay can withhold answers but not forge them.
 */
import { randomBytes } from 'node:crypto';
import type { Ed25519 } from '../core/ed25519.ts';
import { ForwardingService, type ForwardingOptions, type Forwarded, type RunOptions } from './forwarding.ts';
import { LookupAnswerCodec, openLookupAnswer, signLookupAnswer, type PrekeyHolding, type RelayTerms } from '../core/wire/lookup-answer.ts';
import { P2pError } from './errors.ts';
import { idHex } from './ids.ts';
import {
  DEFAULT_LOOKUP_HOPS,
  LOOKUP_PROTOCOL,
  LookupRequestCodec,
  MAX_LOOKUP_REQUEST,
  lookupProblem,
  type LookupKind,
  type LookupMessage,
} from '../core/wire/p2p.ts';

/** What this relay answers for a lookup, or undefined for nothing (prekeys: no bundle held). */
export interface LookupAnswerer {
  /** Pool sizes of the bundle held for `mailbox`; must not consume any key. */
  prekeys(mailbox: Uint8Array): PrekeyHolding | undefined | Promise<PrekeyHolding | undefined>;
  relayInfo(): RelayTerms | Promise<RelayTerms>;
  /** The URL of this relay's HTTP API, as answers state it. */
  url(): string;
}

export interface LookupServiceOptions extends ForwardingOptions {
  answerer: LookupAnswerer;
  /** Signs with the relay's node key (the key of node.relayId). */
  sign: (msg: Uint8Array) => Uint8Array;
  /** Checks the answers peers return. */
  ed: Ed25519;
  /** Hops this relay lets a lookup spread, its own clients' and forwarded ones alike. Default 3. */
  maxHops?: number;
}

export interface LookupOptions extends RunOptions {
  /** Chosen by the client so it can tell its answers from replayed ones. Default: random. */
  lookupId?: Uint8Array;
  /** Hop limit (lowered to maxHops). Default DEFAULT_LOOKUP_HOPS. */
  hops?: number;
}

export const ZERO_TARGET = new Uint8Array(32);

export class LookupService extends ForwardingService<LookupMessage> {
  private readonly maxHops: number;

  constructor(private readonly opts: LookupServiceOptions) {
    super(LOOKUP_PROTOCOL, MAX_LOOKUP_REQUEST, opts);
    this.maxHops = opts.maxHops ?? DEFAULT_LOOKUP_HOPS;
  }

  /**
   * Runs a lookup for a client of this relay. Returns the signed answers (each a LookupAnswer
   * encoding, checked, at most one per relay), this relay's own first when it has one.
   * Throws P2pError BAD_MESSAGE (a relay-info target that is not zero, a lookupId or target
   * of the wrong length), DUPLICATE (lookupId seen) or NOT_STARTED.
   */
  async lookup(kind: LookupKind, target: Uint8Array, o: LookupOptions = {}): Promise<Uint8Array[]> {
    const lookupId = o.lookupId ?? new Uint8Array(randomBytes(16));
    if (lookupId.length !== 16) throw new P2pError('BAD_MESSAGE', `"lookupId" expected 16 bytes, got ${lookupId.length} bytes`);
    if (target.length !== 32) throw new P2pError('BAD_MESSAGE', `"target" expected 32 bytes, got ${target.length} bytes`);
    const hops = Math.min(o.hops ?? DEFAULT_LOOKUP_HOPS, this.maxHops);
    if (!Number.isInteger(hops) || hops < 0) throw new P2pError('BAD_MESSAGE', `"hops" expected an integer >= 0, got ${o.hops}`);
    const m: LookupMessage = { kind, lookupId, target, timestamp: this.now(), hopsLeft: hops };
    const answers = await this.run(m, o);
    // A relay answers a lookup id once; repeats can only come from a peer replaying them.
    // Every answer here is checked already (this relay's own by construction, peers' by
    // acceptAnswer): decoding for the relay id is enough.
    const seen = new Set<string>();
    return answers.filter((a) => {
      const id = idHex(LookupAnswerCodec.decode(a).relayId);
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
  }

  protected decodeRequest(bytes: Uint8Array): Forwarded<LookupMessage> {
    const { budgetMs, root, covered, ...message } = LookupRequestCodec.decode(bytes);
    return { message, budgetMs, root, covered };
  }

  protected encodeRequest(r: Forwarded<LookupMessage>): Uint8Array {
    return LookupRequestCodec.encode({ ...r.message, budgetMs: r.budgetMs, root: r.root, covered: r.covered });
  }

  protected idOf(m: LookupMessage): Uint8Array {
    return m.lookupId;
  }

  protected timestampOf(m: LookupMessage): number {
    return m.timestamp;
  }

  protected verify(m: LookupMessage): void {
    const problem = lookupProblem(m);
    if (problem !== undefined) throw new P2pError('BAD_MESSAGE', problem);
  }

  protected next(m: LookupMessage): LookupMessage | undefined {
    const left = Math.min(m.hopsLeft, this.maxHops);
    return left > 0 ? { ...m, hopsLeft: left - 1 } : undefined;
  }

  protected async answerLocally(m: LookupMessage): Promise<Uint8Array | undefined> {
    const { answerer, node, sign } = this.opts;
    const head = { lookupId: m.lookupId, target: m.target, relayId: node.relayId, url: answerer.url() };
    if (m.kind === 'prekeys') {
      const held = await answerer.prekeys(m.target);
      return held === undefined ? undefined : signLookupAnswer({ kind: 'prekeys', ...head, prekeys: held }, sign);
    }
    return signLookupAnswer({ kind: 'relay-info', ...head, relay: await answerer.relayInfo() }, sign);
  }

  protected override acceptAnswer(m: LookupMessage, answer: Uint8Array): boolean {
    return openLookupAnswer(answer, m, this.opts.ed) !== undefined;
  }
}
