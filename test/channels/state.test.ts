// The channel state machine: every refusal with its code and the state left as it was,
// and long runs of valid updates with exact accounting.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  acceptAdd, acceptFail, acceptSettle, acceptSettleAck, completeClose, confirmFunding, openChannel, payerBalance, proposeAdd,
  proposeFail, requestClose, requestSettle, signClose, channelFromOpen, openMessage, commitmentTxid,
} from '../../src/channels/state.ts';
import type { ChannelState } from '../../src/channels/state.ts';
import { commitment, signDigest } from '../../src/channels/commitment.ts';
import { unilateralClose, refundHtlcs } from '../../src/channels/close.ts';
import { MAX_IN_FLIGHT } from '../../src/channels/size.ts';
import * as c from './helpers.ts';

const { h, refuses } = c;
const TIP = 100;
const T = 900; // T_ch 1000, claimMargin 6: T_i must be in 107..993

function withOne(mode: 'sender-pays' | 'recipient-pays' = 'sender-pays') {
  const x = c.htlcFor(1, mode, T, 5_000);
  const p = c.add(c.openBoth(), x.terms, TIP);
  return { ...p, x };
}

describe('channel open', () => {
  it('opens at state 0 with everything on the payer side, and round-trips its ChannelOpen', () => {
    const s = openChannel(c.params());
    assert.equal(s.n, 0);
    assert.equal(s.relayBalance, 0);
    assert.equal(payerBalance(s), s.capacity);
    assert.equal(s.fundingConfirmed, false);
    assert.deepEqual(channelFromOpen(openMessage(s)), s);
  });

  it('refuses malformed parameters (BAD_PARAMS) and a capacity below the commitment fee', () => {
    refuses(() => openChannel(c.params({ capacity: 0 })), 'BAD_PARAMS');
    refuses(() => openChannel(c.params({ capacity: 1.5 })), 'BAD_PARAMS');
    refuses(() => openChannel(c.params({ feeRate: 1.5 })), 'BAD_PARAMS');
    refuses(() => openChannel(c.params({ claimMargin: -1 })), 'BAD_PARAMS');
    refuses(() => openChannel(c.params({ fundingOutpoint: { txid: 'zz', vout: 0 } })), 'BAD_PARAMS');
    refuses(() => openChannel(c.params({ relayPubkey: h.pub(h.PAYER) })), 'BAD_PARAMS');
    refuses(() => openChannel(c.params({ channelLocktime: 600_000_000 })), 'BAD_PARAMS');
    refuses(() => openChannel(c.params({ capacity: 200 })), 'INSUFFICIENT_CAPACITY');
  });

  it('refuses HTLCs until the funding is confirmed, on both sides', () => {
    const s = openChannel(c.params());
    const x = c.htlcFor(1, 'sender-pays', T);
    refuses(() => proposeAdd(s, x.terms, { tip: TIP, payerPrivkey: h.PAYER }), 'FUNDING_UNCONFIRMED', s);
    const { message } = proposeAdd(confirmFunding(s), x.terms, { tip: TIP, payerPrivkey: h.PAYER });
    refuses(() => acceptAdd(s, message, { tip: TIP }), 'FUNDING_UNCONFIRMED', s);
  });
});

describe('add', () => {
  const base = c.openBoth();
  const x = c.htlcFor(1, 'sender-pays', T, 5_000);
  const { state: proposed, message } = proposeAdd(base.payer, x.terms, { tip: TIP, payerPrivkey: h.PAYER });

  it('moves both sides to the same state n+1 with the output in flight', () => {
    const relay = acceptAdd(base.relay, message, { tip: TIP });
    assert.deepEqual(relay, proposed);
    assert.equal(relay.n, 1);
    assert.equal(relay.inFlight.length, 1);
    assert.equal(payerBalance(relay), relay.capacity - 5_000);
    assert.equal(base.relay.n, 0, 'the input state is not mutated');
  });

  it('refuses every bad AddHtlc with its code and leaves the relay state unchanged', () => {
    const r = base.relay;
    const bad = (over: Partial<typeof message>, code: Parameters<typeof refuses>[1]) => refuses(() => acceptAdd(r, { ...message, ...over }, { tip: TIP }), code, r);
    bad({ channelId: '00'.repeat(32) }, 'WRONG_CHANNEL');
    bad({ n: 2 }, 'STATE_NUMBER_MISMATCH');
    bad({ n: 0 }, 'STATE_NUMBER_MISMATCH');
    bad({ payerBalance: message.payerBalance + 1 }, 'AMOUNTS_MISMATCH');
    bad({ relayBalance: 1, payerBalance: message.payerBalance - 1 }, 'AMOUNTS_MISMATCH');
    bad({ payerSig: Uint8Array.from(message.payerSig, (b, i) => (i === 10 ? b ^ 1 : b)) }, 'BAD_SIGNATURE');
    bad({ payerSig: new Uint8Array(64) }, 'BAD_SIGNATURE');
    const digest = commitment(proposed, proposed.relayBalance, proposed.inFlight).digest;
    bad({ payerSig: signDigest(h.RELAY, digest) }, 'BAD_SIGNATURE');
    bad({ htlc: { ...message.htlc, amount: 5_001 } }, 'AMOUNTS_MISMATCH');
    bad({ htlc: { ...message.htlc, amount: 5_001 }, payerBalance: message.payerBalance - 1 }, 'BAD_SIGNATURE');
    bad({ htlc: { ...message.htlc, locktime: 901 } }, 'BAD_SIGNATURE');
    bad({ htlc: { ...message.htlc, id: 1 } }, 'DUPLICATE_HTLC');
    bad({ htlc: { ...message.htlc, amount: 329 } }, 'DUST_HTLC');
    bad({ htlc: { ...message.htlc, locktime: 994 } }, 'HTLC_EXPIRY_TOO_LATE');
    bad({ htlc: { ...message.htlc, locktime: 106 } }, 'HTLC_EXPIRY_TOO_SOON');
    bad({ htlc: { ...message.htlc, hr: undefined } }, 'BAD_HTLC');
    bad({ htlc: { ...message.htlc, mode: 'recipient-pays' } }, 'BAD_HTLC');
    bad({ htlc: { ...message.htlc, amount: 2_000_000 } }, 'INSUFFICIENT_CAPACITY');
    // the largest allowed T_i is T_ch − claim_margin − 1
    const edge = proposeAdd(base.payer, { ...x.terms, locktime: 993 }, { tip: TIP, payerPrivkey: h.PAYER });
    assert.equal(acceptAdd(r, edge.message, { tip: TIP }).n, 1);
  });

  it('refuses the same refusals on the payer side before anything is signed', () => {
    const p = base.payer;
    const bad = (terms: typeof x.terms, code: Parameters<typeof refuses>[1], tip = TIP) => refuses(() => proposeAdd(p, terms, { tip, payerPrivkey: h.PAYER }), code, p);
    bad({ ...x.terms, locktime: 994 }, 'HTLC_EXPIRY_TOO_LATE');
    bad({ ...x.terms, locktime: 200 }, 'HTLC_EXPIRY_TOO_SOON', 194);
    bad({ ...x.terms, amount: 1 }, 'DUST_HTLC');
    bad({ ...x.terms, amount: 999_999 }, 'INSUFFICIENT_CAPACITY');
    bad({ ...x.terms, hk: new Uint8Array(31) }, 'BAD_HTLC');
    refuses(() => proposeAdd(p, x.terms, { tip: TIP, payerPrivkey: h.RELAY }), 'WRONG_KEY', p);
    refuses(() => proposeAdd(p, x.terms, { tip: -1, payerPrivkey: h.PAYER }), 'BAD_PARAMS', p);
    // a hash already in flight
    refuses(() => proposeAdd(proposed, x.terms, { tip: TIP, payerPrivkey: h.PAYER }), 'DUPLICATE_HTLC', proposed);
  });

  it(`caps in-flight outputs at ${MAX_IN_FLIGHT} on both sides (TOO_MANY_IN_FLIGHT)`, () => {
    const many = Array.from({ length: MAX_IN_FLIGHT }, (_, i) => ({ ...c.htlcFor(1000 + i, 'recipient-pays', T, 500).terms, id: i }));
    const full: ChannelState = { ...base.payer, inFlight: many, nextHtlcId: MAX_IN_FLIGHT };
    const y = c.htlcFor(1, 'recipient-pays', T, 500);
    refuses(() => proposeAdd(full, y.terms, { tip: TIP, payerPrivkey: h.PAYER }), 'TOO_MANY_IN_FLIGHT', full);
    const msg = { ...message, n: full.n + 1, htlc: { ...y.terms, id: MAX_IN_FLIGHT } };
    refuses(() => acceptAdd(full, msg, { tip: TIP }), 'TOO_MANY_IN_FLIGHT', full);
    // one fewer is fine
    const almost: ChannelState = { ...full, inFlight: many.slice(1) };
    assert.equal(proposeAdd(almost, y.terms, { tip: TIP, payerPrivkey: h.PAYER }).state.inFlight.length, MAX_IN_FLIGHT);
  });
});

describe('settle', () => {
  it('folds the output into the relay balance on both sides once the payer has checked k and r', () => {
    const p = withOne();
    const after = c.settle(p, 0, p.x.k, p.x.r);
    assert.deepEqual(after.relay, after.payer);
    assert.equal(after.relay.n, 2);
    assert.equal(after.relay.relayBalance, 5_000);
    assert.equal(after.relay.inFlight.length, 0);
  });

  it('refuses a wrong or missing preimage at either side, and unknown ids', () => {
    const p = withOne();
    refuses(() => requestSettle(p.relay, 0, h.secret('wrong'), p.x.r), 'PREIMAGE_MISMATCH', p.relay);
    refuses(() => requestSettle(p.relay, 0, p.x.k), 'PREIMAGE_MISMATCH', p.relay);
    refuses(() => requestSettle(p.relay, 7, p.x.k, p.x.r), 'UNKNOWN_HTLC', p.relay);
    const good = requestSettle(p.relay, 0, p.x.k, p.x.r);
    const bad = (m: typeof good, code: Parameters<typeof refuses>[1]) => refuses(() => acceptSettle(p.payer, m, { payerPrivkey: h.PAYER }), code, p.payer);
    bad({ ...good, k: p.x.r! }, 'PREIMAGE_MISMATCH');
    bad({ ...good, r: p.x.k }, 'PREIMAGE_MISMATCH');
    bad({ ...good, r: undefined }, 'PREIMAGE_MISMATCH');
    bad({ ...good, k: new Uint8Array(31) }, 'PREIMAGE_MISMATCH');
    bad({ ...good, htlcId: 3 }, 'UNKNOWN_HTLC');
    bad({ ...good, channelId: 'ab'.repeat(32) }, 'WRONG_CHANNEL');
    const rp = withOne('recipient-pays');
    refuses(() => acceptSettle(rp.payer, { ...requestSettle(rp.relay, 0, rp.x.k), r: rp.x.k }, { payerPrivkey: h.PAYER }), 'PREIMAGE_MISMATCH', rp.payer);
  });

  it('refuses a SettleAck that pays the relay less, does not add up, skips a state or is not signed', () => {
    const p = withOne();
    const { message } = acceptSettle(p.payer, requestSettle(p.relay, 0, p.x.k, p.x.r), { payerPrivkey: h.PAYER });
    const bad = (over: Partial<typeof message>, code: Parameters<typeof refuses>[1]) => refuses(() => acceptSettleAck(p.relay, { ...message, ...over }), code, p.relay);
    bad({ relayBalance: 0, payerBalance: message.payerBalance + 5_000 }, 'AMOUNTS_MISMATCH');
    bad({ relayBalance: 4_000, payerBalance: message.payerBalance + 1_000 }, 'AMOUNTS_MISMATCH');
    bad({ payerBalance: message.payerBalance - 1 }, 'AMOUNTS_MISMATCH');
    bad({ n: 3 }, 'STATE_NUMBER_MISMATCH');
    bad({ n: 1 }, 'STATE_NUMBER_MISMATCH');
    bad({ htlcId: 9 }, 'UNKNOWN_HTLC');
    bad({ payerSig: p.relay.payerSig! }, 'BAD_SIGNATURE');
    // after a settle the relay has 5,000: an add that declares less is a decrease
    const s = c.settle(p, 0, p.x.k, p.x.r);
    const y = c.htlcFor(2, 'recipient-pays', T, 1_000);
    const add = proposeAdd(s.payer, y.terms, { tip: TIP, payerPrivkey: h.PAYER }).message;
    refuses(() => acceptAdd(s.relay, { ...add, relayBalance: 4_999, payerBalance: add.payerBalance + 1 }, { tip: TIP }), 'RELAY_BALANCE_DECREASED', s.relay);
    refuses(() => acceptAdd(s.relay, { ...add, relayBalance: 0, payerBalance: add.payerBalance + 5_000 }, { tip: TIP }), 'RELAY_BALANCE_DECREASED', s.relay);
  });
});

describe('fail', () => {
  it('returns the output to the payer only from T_i − claim_margin (unless the relay releases it)', () => {
    const p = withOne();
    refuses(() => proposeFail(p.payer, 0, { tip: T - 7, payerPrivkey: h.PAYER }), 'FAIL_TOO_EARLY', p.payer);
    const early = proposeFail({ ...p.payer }, 0, { tip: T - 6, payerPrivkey: h.PAYER }).message;
    refuses(() => acceptFail(p.relay, early, { tip: T - 7 }), 'FAIL_TOO_EARLY', p.relay);
    assert.equal(acceptFail(p.relay, early, { tip: T - 7, release: true }).inFlight.length, 0);
    const after = c.failHtlc(p, 0, T - 6);
    assert.deepEqual(after.relay, after.payer);
    assert.equal(after.relay.relayBalance, 0);
    assert.equal(payerBalance(after.relay), after.relay.capacity);
    refuses(() => acceptFail(p.relay, { ...early, relayBalance: 5_000, payerBalance: early.payerBalance - 5_000 }, { tip: T }), 'AMOUNTS_MISMATCH', p.relay);
    refuses(() => acceptFail(p.relay, { ...early, htlcId: 4 }, { tip: T }), 'UNKNOWN_HTLC', p.relay);
    refuses(() => acceptFail(p.relay, { ...early, payerSig: new Uint8Array(64).fill(1) }, { tip: T }), 'BAD_SIGNATURE', p.relay);
  });
});

describe('cooperative close', () => {
  it('needs nothing in flight, the current state, the exact relay balance and both signatures', () => {
    const p = withOne();
    refuses(() => requestClose(p.relay, h.RELAY), 'IN_FLIGHT_NOT_EMPTY', p.relay);
    const s = c.settle(p, 0, p.x.k, p.x.r);
    refuses(() => requestClose(s.relay, h.PAYER), 'WRONG_KEY', s.relay);
    const req = requestClose(s.relay, h.RELAY);
    refuses(() => signClose(s.payer, { ...req, relayBalance: 5_001 }, h.PAYER), 'AMOUNTS_MISMATCH', s.payer);
    refuses(() => signClose(s.payer, { ...req, n: 1 }, h.PAYER), 'STATE_NUMBER_MISMATCH', s.payer);
    refuses(() => signClose(s.payer, { ...req, relaySig: s.payer.payerSig! }, h.PAYER), 'BAD_SIGNATURE', s.payer);
    refuses(() => signClose(p.payer, req, h.PAYER), 'IN_FLIGHT_NOT_EMPTY', p.payer);
    refuses(() => signClose(s.payer, { ...req, channelId: 'cd'.repeat(32) }, h.PAYER), 'WRONG_CHANNEL', s.payer);
    const { message, close } = signClose(s.payer, req, h.PAYER);
    refuses(() => completeClose(s.relay, { ...message, payerSig: req.relaySig }, h.RELAY), 'BAD_SIGNATURE', s.relay);
    const done = completeClose(s.relay, message, h.RELAY);
    assert.equal(done.txid, close.txid);
    assert.deepEqual(done.tx, close.tx);
  });
});

describe('unilateral close (pure part)', () => {
  it('refuses at state 0, with a wrong preimage or an unknown id', () => {
    const b = c.openBoth();
    const req = { relayPrivkey: h.RELAY, preimages: [], destScript: h.DEST_SCRIPT, feeRate: 2 };
    refuses(() => unilateralClose(b.relay, req), 'NO_COMMITMENT', b.relay);
    const p = withOne();
    refuses(() => unilateralClose(p.relay, { ...req, preimages: [{ htlcId: 0, k: p.x.k, r: h.secret('x') }] }), 'PREIMAGE_MISMATCH', p.relay);
    refuses(() => unilateralClose(p.relay, { ...req, preimages: [{ htlcId: 5, k: p.x.k, r: p.x.r }] }), 'UNKNOWN_HTLC', p.relay);
    refuses(() => unilateralClose(p.relay, { ...req, relayPrivkey: h.PAYER }), 'WRONG_KEY', p.relay);
    const u = unilateralClose(p.relay, req);
    assert.equal(u.commitment.txid, commitmentTxid(p.relay));
    assert.equal(u.claim, undefined);
    assert.deepEqual(u.unclaimed.map((x) => x.htlcId), [0]);
    refuses(() => refundHtlcs(p.payer, [3], { payerPrivkey: h.PAYER, destScript: h.WALLET_SCRIPT, feeRate: 2 }), 'UNKNOWN_HTLC', p.payer);
  });
});
