/**
 * The channel state machine as pure functions over an immutable ChannelState value. Every
 * function either returns new values or throws a ChannelError; the state passed in is never
 * changed, so a refused update leaves the caller exactly where it was.
 *
 * Roles: only the payer signs commitments, so only the payer proposes updates (add, the
 * settle acknowledgement, fail); the relay verifies each against the commitment it builds
 * itself from its own state (never from bytes the payer sends) and keeps the payer's
 * signature of the latest one. Updates are strictly sequential: each one's n is the current
 * n plus one.
 *
 *   add:    payer proposeAdd → AddHtlc → relay acceptAdd
 *   settle: relay requestSettle → SettleHtlc(k, r) → payer acceptSettle → SettleAck → relay acceptSettleAck
 *   fail:   payer proposeFail → FailHtlc → relay acceptFail          (once tip ≥ T_i − claim_margin)
 *   close:  relay requestClose → CloseRequest → payer signClose → CloseSigned → relay completeClose
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { hex } from '@scure/base';
import { Transaction } from '@scure/btc-signer';
import { assertTerms } from '../contracts/script.ts';
import { assertOutpoint } from '../contracts/tx.ts';
import type { BuiltTx, Outpoint } from '../contracts/tx.ts';
import { P2WSH_DUST, preimageMatches } from '../contracts/validate.ts';
import { expected } from '../core/errors.ts';
import { assertSideKey, commitment, cooperativeCloseTx, fundingScriptOf, htlcTerms, signDigest, verifyDigest } from './commitment.ts';
import type { ChannelParams, Htlc } from './commitment.ts';
import { ChannelError } from './errors.ts';
import type { ChannelErrorCode } from './errors.ts';
import type { AddHtlc, ChannelOpen, CloseRequest, CloseSigned, FailHtlc, HtlcTerms, SettleAck, SettleHtlc } from './messages.ts';
import { fundingScriptPubKey } from './script.ts';
import { MAX_IN_FLIGHT } from './size.ts';

export interface ChannelState extends ChannelParams {
  /** Hex of SHA-256("satpost/v1/channel" || funding txid (32 bytes, display order) || vout u32). */
  readonly id: string;
  readonly fundingConfirmed: boolean;
  /** State number: 0 at open, +1 per update. */
  readonly n: number;
  readonly relayBalance: number;
  /** In canonical order (T_i, H(k)). */
  readonly inFlight: readonly Htlc[];
  /** The id the next added HTLC must carry. */
  readonly nextHtlcId: number;
  /** The payer's compact signature of commitment n; absent at n = 0 (nothing owed yet). */
  readonly payerSig?: Uint8Array;
}

const fail = (code: ChannelErrorCode, message: string): never => {
  throw new ChannelError(code, message);
};

const CHANNEL_TAG = new TextEncoder().encode('satpost/v1/channel');

export function channelIdOf(o: Outpoint): string {
  const b = new Uint8Array(CHANNEL_TAG.length + 36);
  b.set(CHANNEL_TAG);
  b.set(hex.decode(o.txid), CHANNEL_TAG.length);
  new DataView(b.buffer).setUint32(CHANNEL_TAG.length + 32, o.vout);
  return hex.encode(sha256(b));
}

/** The payer's side before the commitment fee: capacity − relay − in flight. */
export function payerBalance(s: Pick<ChannelState, 'capacity' | 'relayBalance' | 'inFlight'>): number {
  return s.capacity - s.relayBalance - s.inFlight.reduce((a, h) => a + h.amount, 0);
}

function assertParams(p: ChannelParams): void {
  const bad = (what: string, exp: string, got: unknown) => fail('BAD_PARAMS', expected(what, exp, got));
  if (p === null || typeof p !== 'object') bad('params', 'an object', p);
  if (!Number.isSafeInteger(p.capacity) || p.capacity <= 0) bad('capacity', 'a positive integer number of sats', p.capacity);
  if (!Number.isInteger(p.feeRate) || p.feeRate < 1 || p.feeRate > 100_000) bad('feeRate', 'an integer sat/vB in 1..100000', p.feeRate);
  if (!Number.isInteger(p.claimMargin) || p.claimMargin < 0 || p.claimMargin > 0xffff) bad('claimMargin', 'an integer number of blocks in 0..65535', p.claimMargin);
  try {
    assertOutpoint('fundingOutpoint', p.fundingOutpoint);
    fundingScriptOf(p);
  } catch (err) {
    throw new ChannelError('BAD_PARAMS', (err as Error).message, { cause: err });
  }
}

/** A new channel at state 0: everything on the payer's side, funding not yet confirmed. */
export function openChannel(p: ChannelParams): ChannelState {
  assertParams(p);
  const params: ChannelParams = {
    payerPubkey: p.payerPubkey, relayPubkey: p.relayPubkey, channelLocktime: p.channelLocktime,
    claimMargin: p.claimMargin, feeRate: p.feeRate, capacity: p.capacity,
    fundingOutpoint: { txid: p.fundingOutpoint.txid, vout: p.fundingOutpoint.vout },
  };
  const s: ChannelState = { ...params, id: channelIdOf(params.fundingOutpoint), fundingConfirmed: false, n: 0, relayBalance: 0, inFlight: [], nextHtlcId: 0 };
  commitment(s, 0, []); // the capacity must at least pay the fee of commitment 0
  return s;
}

export function openMessage(s: ChannelState): ChannelOpen {
  return {
    payerPubkey: s.payerPubkey, relayPubkey: s.relayPubkey, fundingTxid: s.fundingOutpoint.txid, fundingVout: s.fundingOutpoint.vout,
    capacity: s.capacity, channelLocktime: s.channelLocktime, claimMargin: s.claimMargin, feeRate: s.feeRate,
  };
}

export function channelFromOpen(m: ChannelOpen): ChannelState {
  return openChannel({
    payerPubkey: m.payerPubkey, relayPubkey: m.relayPubkey, channelLocktime: m.channelLocktime, claimMargin: m.claimMargin,
    feeRate: m.feeRate, capacity: m.capacity, fundingOutpoint: { txid: m.fundingTxid, vout: m.fundingVout },
  });
}

/** FUNDING_MISMATCH unless rawTx is the funding transaction and pays the channel script the capacity at the outpoint. */
export function checkFundingTx(s: ChannelState, rawTx: Uint8Array): void {
  let tx: Transaction;
  try {
    tx = Transaction.fromRaw(Uint8Array.from(rawTx), { allowUnknownOutputs: true, allowUnknownInputs: true });
  } catch (err) {
    throw new ChannelError('BAD_TX', `"fundingTx" expected a raw transaction: ${(err as Error).message}`, { cause: err });
  }
  if (tx.id !== s.fundingOutpoint.txid) fail('FUNDING_MISMATCH', expected('fundingTx txid', s.fundingOutpoint.txid, tx.id));
  const out = s.fundingOutpoint.vout < tx.outputsLength ? tx.getOutput(s.fundingOutpoint.vout) : undefined;
  const spk = fundingScriptPubKey(fundingScriptOf(s));
  if (!out?.script || hex.encode(out.script) !== hex.encode(spk)) fail('FUNDING_MISMATCH', expected(`output ${s.fundingOutpoint.vout}`, 'the channel\'s P2WSH', out ? 'another script' : 'no output'));
  if (out!.amount !== BigInt(s.capacity)) fail('FUNDING_MISMATCH', expected(`output ${s.fundingOutpoint.vout} amount`, `${s.capacity}`, out!.amount));
}

/** The funding reached the depth the relay's policy asks; only now may HTLCs be added. */
export function confirmFunding(s: ChannelState): ChannelState {
  return { ...s, fundingConfirmed: true };
}

function assertTip(tip: unknown): asserts tip is number {
  if (typeof tip !== 'number' || !Number.isInteger(tip) || tip < 0) fail('BAD_PARAMS', expected('tip', 'a block height', tip));
}

function normaliseHtlc(h: HtlcTerms): Htlc {
  return { id: h.id, mode: h.mode, hk: h.hk, ...(h.hr !== undefined ? { hr: h.hr } : {}), amount: h.amount, locktime: h.locktime };
}

/** Every rule for a new in-flight output, checked alike by payer and relay. */
function checkNewHtlc(s: ChannelState, h: Htlc, tip: number): void {
  if (!s.fundingConfirmed) fail('FUNDING_UNCONFIRMED', `channel ${s.id}: funding expected confirmed before any HTLC, got unconfirmed`);
  if (h.id !== s.nextHtlcId) fail('DUPLICATE_HTLC', expected('htlc.id', `the next id ${s.nextHtlcId}`, h.id));
  try {
    assertTerms(htlcTerms(s, h));
  } catch (err) {
    throw new ChannelError('BAD_HTLC', (err as Error).message, { cause: err });
  }
  if (!Number.isSafeInteger(h.amount) || h.amount <= 0) fail('BAD_HTLC', expected('htlc.amount', 'a positive integer number of sats', h.amount));
  if (h.amount < P2WSH_DUST) fail('DUST_HTLC', expected('htlc.amount', `>= ${P2WSH_DUST} sats (P2WSH dust threshold)`, h.amount));
  const latest = s.channelLocktime - s.claimMargin - 1;
  if (h.locktime > latest) fail('HTLC_EXPIRY_TOO_LATE', expected('htlc.locktime', `<= ${latest} (T_ch ${s.channelLocktime} − claim_margin ${s.claimMargin} − 1)`, h.locktime));
  const earliest = tip + s.claimMargin + 1;
  if (h.locktime < earliest) fail('HTLC_EXPIRY_TOO_SOON', expected('htlc.locktime', `>= ${earliest} (tip ${tip} + claim_margin ${s.claimMargin} + 1)`, h.locktime));
  if (s.inFlight.some((x) => hex.encode(x.hk) === hex.encode(h.hk))) fail('DUPLICATE_HTLC', 'htlc.hk expected a hash not already in flight, got one that is');
  if (h.amount > payerBalance(s)) fail('INSUFFICIENT_CAPACITY', expected('htlc.amount', `<= the payer's side ${payerBalance(s)} less the commitment fee`, h.amount));
  if (s.inFlight.length + 1 > MAX_IN_FLIGHT) fail('TOO_MANY_IN_FLIGHT', expected('in-flight outputs', `<= ${MAX_IN_FLIGHT}`, s.inFlight.length + 1));
}

function withHtlc(s: ChannelState, h: Htlc): Htlc[] {
  return [...s.inFlight, h];
}

function findHtlc(s: ChannelState, id: unknown): Htlc {
  const h = s.inFlight.find((x) => x.id === id);
  if (!h) throw new ChannelError('UNKNOWN_HTLC', expected('htlcId', `one of the ${s.inFlight.length} in flight`, id));
  return h;
}

/** Builds state n+1 and the payer's signature of its commitment (INSUFFICIENT_CAPACITY if it cannot pay its fee). */
function signNext(s: ChannelState, relayBalance: number, inFlight: readonly Htlc[], payerPrivkey: Uint8Array, extra: Partial<ChannelState> = {}) {
  const priv = assertSideKey(s, 'payer', payerPrivkey);
  const c = commitment(s, relayBalance, inFlight);
  const payerSig = signDigest(priv, c.digest);
  const ordered = sortedFromLayout(inFlight, c.layout.outputs);
  const next: ChannelState = { ...s, ...extra, n: s.n + 1, relayBalance, inFlight: ordered, payerSig };
  return { next, update: { channelId: s.id, n: next.n, relayBalance, payerBalance: payerBalance(next), payerSig } };
}

function sortedFromLayout(inFlight: readonly Htlc[], outs: ReturnType<typeof commitment>['layout']['outputs']): Htlc[] {
  const byId = new Map(inFlight.map((h) => [h.id, h]));
  return outs.flatMap((o) => (o.kind === 'htlc' ? [byId.get(o.htlcId)!] : []));
}

interface UpdateFields { channelId: string; n: number; relayBalance: number; payerBalance: number; payerSig: Uint8Array }

/** The relay's checks of any signed update, in a fixed order so each bad input has one code. */
function verifyNext(s: ChannelState, u: UpdateFields, relayBalance: number, inFlight: readonly Htlc[]): ChannelState {
  if (u.n !== s.n + 1) fail('STATE_NUMBER_MISMATCH', expected('n', `${s.n + 1}`, u.n));
  if (u.relayBalance < s.relayBalance) fail('RELAY_BALANCE_DECREASED', expected('relayBalance', `>= ${s.relayBalance} (the current commitment's)`, u.relayBalance));
  const inFlightTotal = inFlight.reduce((a, h) => a + h.amount, 0);
  if (u.relayBalance + u.payerBalance + inFlightTotal !== s.capacity) {
    fail('AMOUNTS_MISMATCH', expected('relay + payer + in flight', `= capacity ${s.capacity}`, u.relayBalance + u.payerBalance + inFlightTotal));
  }
  if (u.relayBalance !== relayBalance) fail('AMOUNTS_MISMATCH', expected('relayBalance', `${relayBalance} (what this update implies)`, u.relayBalance));
  const c = commitment(s, relayBalance, inFlight);
  if (!verifyDigest(u.payerSig, c.digest, s.payerPubkey)) fail('BAD_SIGNATURE', `payerSig expected the payer's signature of commitment ${u.n}, got one that does not verify`);
  return { ...s, n: u.n, relayBalance, inFlight: sortedFromLayout(inFlight, c.layout.outputs), payerSig: u.payerSig };
}

function assertChannel(s: ChannelState, channelId: unknown): void {
  if (channelId !== s.id) fail('WRONG_CHANNEL', expected('channelId', s.id, channelId));
}

// ---- add ----

export interface NewHtlc { mode: Htlc['mode']; hk: Uint8Array; hr?: Uint8Array; amount: number; locktime: number }

export function proposeAdd(s: ChannelState, terms: NewHtlc, ctx: { tip: number; payerPrivkey: Uint8Array }): { state: ChannelState; message: AddHtlc } {
  assertTip(ctx.tip);
  const h = normaliseHtlc({ ...terms, id: s.nextHtlcId });
  checkNewHtlc(s, h, ctx.tip);
  const { next, update } = signNext(s, s.relayBalance, withHtlc(s, h), ctx.payerPrivkey, { nextHtlcId: s.nextHtlcId + 1 });
  return { state: next, message: { ...update, htlc: { ...h } } };
}

export function acceptAdd(s: ChannelState, m: AddHtlc, ctx: { tip: number }): ChannelState {
  assertTip(ctx.tip);
  assertChannel(s, m.channelId);
  if (!s.fundingConfirmed) fail('FUNDING_UNCONFIRMED', `channel ${s.id}: funding expected confirmed before any HTLC, got unconfirmed`);
  if (m.n !== s.n + 1) fail('STATE_NUMBER_MISMATCH', expected('n', `${s.n + 1}`, m.n));
  const h = normaliseHtlc(m.htlc);
  checkNewHtlc(s, h, ctx.tip);
  return { ...verifyNext(s, m, s.relayBalance, withHtlc(s, h)), nextHtlcId: s.nextHtlcId + 1 };
}

// ---- settle ----

function checkPreimages(h: Htlc, k: unknown, r: unknown): void {
  if (!(k instanceof Uint8Array) || !preimageMatches(k, h.hk)) fail('PREIMAGE_MISMATCH', `k expected a 32-byte preimage of H(k) of htlc ${h.id}, got one that does not match`);
  if (h.mode === 'sender-pays') {
    if (!(r instanceof Uint8Array) || !preimageMatches(r, h.hr!)) fail('PREIMAGE_MISMATCH', `r expected a 32-byte preimage of H(r) of htlc ${h.id}, got ${r === undefined ? 'nothing' : 'one that does not match'}`);
  } else if (r !== undefined) {
    fail('PREIMAGE_MISMATCH', `r expected nothing for recipient-pays htlc ${h.id}, got a value`);
  }
}

/** The relay reveals k (and r): checked here so a wrong preimage never leaves the relay. */
export function requestSettle(s: ChannelState, htlcId: number, k: Uint8Array, r?: Uint8Array): SettleHtlc {
  const h = findHtlc(s, htlcId);
  checkPreimages(h, k, r);
  return { channelId: s.id, htlcId, k, ...(r ? { r } : {}) };
}

/** The payer checks the preimages against the hashes and signs n+1 with the amount folded into the relay's balance. */
export function acceptSettle(s: ChannelState, m: SettleHtlc, ctx: { payerPrivkey: Uint8Array }): { state: ChannelState; message: SettleAck } {
  assertChannel(s, m.channelId);
  const h = findHtlc(s, m.htlcId);
  checkPreimages(h, m.k, m.r);
  const { next, update } = signNext(s, s.relayBalance + h.amount, s.inFlight.filter((x) => x.id !== h.id), ctx.payerPrivkey);
  return { state: next, message: { ...update, htlcId: h.id } };
}

export function acceptSettleAck(s: ChannelState, m: SettleAck): ChannelState {
  assertChannel(s, m.channelId);
  if (m.n !== s.n + 1) fail('STATE_NUMBER_MISMATCH', expected('n', `${s.n + 1}`, m.n));
  const h = findHtlc(s, m.htlcId);
  return verifyNext(s, m, s.relayBalance + h.amount, s.inFlight.filter((x) => x.id !== h.id));
}

// ---- fail ----

function checkFailTime(s: ChannelState, h: Htlc, tip: number): void {
  const from = h.locktime - s.claimMargin;
  if (tip < from) fail('FAIL_TOO_EARLY', expected('tip', `>= ${from} (T_i ${h.locktime} − claim_margin ${s.claimMargin}) to fail htlc ${h.id}`, tip));
}

/** Past T_i − claim_margin the relay can no longer claim safely; the payer takes the output back into its change. */
export function proposeFail(s: ChannelState, htlcId: number, ctx: { tip: number; payerPrivkey: Uint8Array }): { state: ChannelState; message: FailHtlc } {
  assertTip(ctx.tip);
  const h = findHtlc(s, htlcId);
  checkFailTime(s, h, ctx.tip);
  const { next, update } = signNext(s, s.relayBalance, s.inFlight.filter((x) => x.id !== h.id), ctx.payerPrivkey);
  return { state: next, message: { ...update, htlcId: h.id } };
}

/** `release`: the relay gives the output up before its deadline (e.g. the message was never fetched and it will not claim). */
export function acceptFail(s: ChannelState, m: FailHtlc, ctx: { tip: number; release?: boolean }): ChannelState {
  assertTip(ctx.tip);
  assertChannel(s, m.channelId);
  if (m.n !== s.n + 1) fail('STATE_NUMBER_MISMATCH', expected('n', `${s.n + 1}`, m.n));
  const h = findHtlc(s, m.htlcId);
  if (!ctx.release) checkFailTime(s, h, ctx.tip);
  return verifyNext(s, m, s.relayBalance, s.inFlight.filter((x) => x.id !== h.id));
}

// ---- cooperative close ----

function assertNothingInFlight(s: ChannelState): void {
  if (s.inFlight.length > 0) fail('IN_FLIGHT_NOT_EMPTY', expected('in-flight outputs', '0 for a cooperative close', s.inFlight.length));
}

export function requestClose(s: ChannelState, relayPrivkey: Uint8Array): CloseRequest {
  assertNothingInFlight(s);
  const priv = assertSideKey(s, 'relay', relayPrivkey);
  return { channelId: s.id, n: s.n, relayBalance: s.relayBalance, relaySig: signDigest(priv, cooperativeCloseTx(s, s.relayBalance).digest) };
}

/** The payer checks the relay asks exactly its balance of state n, signs, and can broadcast the close itself. */
export function signClose(s: ChannelState, m: CloseRequest, payerPrivkey: Uint8Array): { message: CloseSigned; close: BuiltTx } {
  assertChannel(s, m.channelId);
  assertNothingInFlight(s);
  if (m.n !== s.n) fail('STATE_NUMBER_MISMATCH', expected('n', `${s.n} (the current state)`, m.n));
  if (m.relayBalance !== s.relayBalance) fail('AMOUNTS_MISMATCH', expected('relayBalance', `${s.relayBalance}`, m.relayBalance));
  const priv = assertSideKey(s, 'payer', payerPrivkey);
  const spend = cooperativeCloseTx(s, s.relayBalance);
  if (!verifyDigest(m.relaySig, spend.digest, s.relayPubkey)) fail('BAD_SIGNATURE', 'relaySig expected the relay\'s signature of the close, got one that does not verify');
  const payerSig = signDigest(priv, spend.digest);
  return { message: { channelId: s.id, n: s.n, payerSig }, close: spend.complete(payerSig, m.relaySig) };
}

export function completeClose(s: ChannelState, m: CloseSigned, relayPrivkey: Uint8Array): BuiltTx {
  assertChannel(s, m.channelId);
  assertNothingInFlight(s);
  if (m.n !== s.n) fail('STATE_NUMBER_MISMATCH', expected('n', `${s.n} (the current state)`, m.n));
  const priv = assertSideKey(s, 'relay', relayPrivkey);
  const spend = cooperativeCloseTx(s, s.relayBalance);
  if (!verifyDigest(m.payerSig, spend.digest, s.payerPubkey)) fail('BAD_SIGNATURE', 'payerSig expected the payer\'s signature of the close, got one that does not verify');
  return spend.complete(m.payerSig, signDigest(priv, spend.digest));
}

/** txid of commitment n (both sides can compute it to recognise it on chain). */
export function commitmentTxid(s: ChannelState): string {
  return commitment(s, s.relayBalance, s.inFlight).txid;
}
