// Channel fixtures: fixed keys (from the contracts' helpers), a channel opened on a made-up
// or devnet funding, and a driver running both sides of each update.
import { sha256 } from '@noble/hashes/sha2.js';
import assert from 'node:assert/strict';
import { ChannelError } from '../../src/channels/errors.ts';
import type { ChannelErrorCode } from '../../src/channels/errors.ts';
import {
  acceptAdd, acceptFail, acceptSettle, acceptSettleAck, confirmFunding, openChannel, proposeAdd, proposeFail, requestSettle,
} from '../../src/channels/state.ts';
import type { ChannelState, NewHtlc } from '../../src/channels/state.ts';
import type { ChannelParams } from '../../src/channels/commitment.ts';
import type { Outpoint } from '../../src/contracts/tx.ts';
import * as h from '../contracts/helpers.ts';

export { h };
export const utf8 = (s: string) => new TextEncoder().encode(s);

export function params(over: Partial<ChannelParams> = {}): ChannelParams {
  return {
    payerPubkey: h.pub(h.PAYER),
    relayPubkey: h.pub(h.RELAY),
    channelLocktime: 1_000,
    claimMargin: 6,
    feeRate: 2,
    capacity: 1_000_000,
    fundingOutpoint: { txid: h.fakeTxid('channel funding'), vout: 0 },
    ...over,
  };
}

/** Both sides of a channel, funded and confirmed. */
export function openBoth(over: Partial<ChannelParams> = {}, outpoint?: Outpoint): { payer: ChannelState; relay: ChannelState } {
  const s = confirmFunding(openChannel(params(outpoint ? { ...over, fundingOutpoint: outpoint } : over)));
  return { payer: s, relay: s };
}

export function htlcFor(i: number, mode: NewHtlc['mode'], locktime: number, amount = 1_000): { terms: NewHtlc; k: Uint8Array; r?: Uint8Array } {
  const k = h.secret(`channel k${i}`);
  const r = h.secret(`channel r${i}`);
  const terms: NewHtlc = { mode, hk: sha256(k), amount, locktime, ...(mode === 'sender-pays' ? { hr: sha256(r) } : {}) };
  return mode === 'sender-pays' ? { terms, k, r } : { terms, k };
}

export interface Pair { payer: ChannelState; relay: ChannelState }

export function add(p: Pair, terms: NewHtlc, tip: number): Pair & { id: number } {
  const { state, message } = proposeAdd(p.payer, terms, { tip, payerPrivkey: h.PAYER });
  return { payer: state, relay: acceptAdd(p.relay, message, { tip }), id: message.htlc.id };
}

export function settle(p: Pair, id: number, k: Uint8Array, r?: Uint8Array): Pair {
  const req = requestSettle(p.relay, id, k, r);
  const { state, message } = acceptSettle(p.payer, req, { payerPrivkey: h.PAYER });
  return { payer: state, relay: acceptSettleAck(p.relay, message) };
}

export function failHtlc(p: Pair, id: number, tip: number): Pair {
  const { state, message } = proposeFail(p.payer, id, { tip, payerPrivkey: h.PAYER });
  return { payer: state, relay: acceptFail(p.relay, message, { tip }) };
}

/** Asserts fn throws ChannelError `code`, and that `before` is deep-equal to its snapshot afterwards. */
export function refuses(fn: () => unknown, code: ChannelErrorCode, ...unchanged: ChannelState[]): void {
  const snaps = unchanged.map((s) => structuredClone(s));
  assert.throws(fn, (e: unknown) => {
    if (!ChannelError.is(e)) throw e;
    assert.equal(e.code, code, e.message);
    return true;
  });
  unchanged.forEach((s, i) => assert.deepEqual(s, snaps[i]));
}
