/**
 * Contract life cycles as pure state machines: states are string unions (stored as these
 * strings, never as ordinals), transitions are a table, and an event that the table does
 * not allow is a BAD_TRANSITION. Persisting the state before acting on it (sign, broadcast,
 * reveal) is the caller's job; a chain reorganisation shows up as the "-lost" events.
 */
import { ContractError } from './errors.ts';

/** The relay's view of one contract. */
export type RelayState =
  | 'quoted' //            quote sent, no funding seen
  | 'funded' //            funding output seen unconfirmed (k must not be revealed yet)
  | 'funding-confirmed' // enough confirmations; waits for r (sender-pays) or is claimable
  | 'claim-signed' //      claim built and stored, not yet broadcast
  | 'claim-broadcast' //   claim in the mempool
  | 'claimed' //           claim confirmed: paid (final)
  | 'expired'; //          quote unused, deadline T − claim_margin passed, or the payer refunded (final)

export type RelayEvent =
  | 'funding-seen'
  | 'funding-confirmed'
  | 'funding-lost' //     funding double-spent or reorganised away
  | 'claim-signed'
  | 'claim-broadcast'
  | 'claim-confirmed'
  | 'claim-lost' //       claim evicted or reorganised away: sign/broadcast again
  | 'refunded' //         the payer's refund spent the contract
  | 'deadline-passed'; // quote timed out, or T − claim_margin reached without a claim

const RELAY: Record<RelayState, Partial<Record<RelayEvent, RelayState>>> = {
  quoted: { 'funding-seen': 'funded', 'funding-confirmed': 'funding-confirmed', 'deadline-passed': 'expired' },
  funded: { 'funding-confirmed': 'funding-confirmed', 'funding-lost': 'quoted', 'deadline-passed': 'expired' },
  'funding-confirmed': { 'claim-signed': 'claim-signed', 'funding-lost': 'quoted', refunded: 'expired', 'deadline-passed': 'expired' },
  'claim-signed': { 'claim-broadcast': 'claim-broadcast', 'claim-confirmed': 'claimed', 'funding-lost': 'quoted', refunded: 'expired' },
  // After broadcast k is public: the relay keeps trying to confirm its claim until a refund wins.
  'claim-broadcast': { 'claim-confirmed': 'claimed', 'claim-lost': 'claim-signed', 'funding-lost': 'quoted', refunded: 'expired' },
  claimed: { 'claim-lost': 'claim-signed' },
  expired: {},
};

/** The payer's view (Alice for sender-pays, Carol for recipient-pays). */
export type PayerState =
  | 'created' //           terms accepted, keys chosen, nothing signed
  | 'funding-signed' //    funding and its refund signed and stored
  | 'funding-broadcast'
  | 'funded' //            funding confirmed
  | 'claimed' //           relay's claim confirmed; k (and r) learned from the chain (final)
  | 'refund-broadcast' //  T passed, refund in the mempool
  | 'refunded' //          refund confirmed (final)
  | 'abandoned'; //        funding never made it on chain and its inputs were spent elsewhere (final)

export type PayerEvent =
  | 'funding-signed'
  | 'funding-broadcast'
  | 'funding-confirmed'
  | 'funding-lost'
  | 'claim-seen' //       a claim (mempool or block) revealed k: confirmed or not, k is learned
  | 'claim-confirmed'
  | 'claim-lost'
  | 'refund-broadcast'
  | 'refund-confirmed'
  | 'refund-lost'
  | 'inputs-spent-elsewhere';

const PAYER: Record<PayerState, Partial<Record<PayerEvent, PayerState>>> = {
  created: { 'funding-signed': 'funding-signed' },
  'funding-signed': { 'funding-broadcast': 'funding-broadcast', 'inputs-spent-elsewhere': 'abandoned' },
  'funding-broadcast': { 'funding-confirmed': 'funded', 'funding-lost': 'funding-signed', 'inputs-spent-elsewhere': 'abandoned' },
  funded: { 'claim-seen': 'funded', 'claim-confirmed': 'claimed', 'refund-broadcast': 'refund-broadcast', 'funding-lost': 'funding-broadcast' },
  'refund-broadcast': { 'refund-confirmed': 'refunded', 'refund-lost': 'funded', 'claim-confirmed': 'claimed', 'funding-lost': 'funding-broadcast' },
  claimed: { 'claim-lost': 'funded' },
  refunded: { 'refund-lost': 'funded' },
  abandoned: {},
};

const FINAL_RELAY: ReadonlySet<RelayState> = new Set(['claimed', 'expired']);
const FINAL_PAYER: ReadonlySet<PayerState> = new Set(['claimed', 'refunded', 'abandoned']);

/**
 * Final = nothing left to do unless the chain reorganises. 'claimed' and 'refunded' can
 * still be re-opened by a '-lost' event (a reorg deeper than the watcher's finality depth
 * is not expected), 'expired' and 'abandoned' cannot.
 */
export function isFinal(state: RelayState | PayerState): boolean {
  return FINAL_RELAY.has(state as RelayState) || FINAL_PAYER.has(state as PayerState);
}

export const RELAY_STATES = Object.keys(RELAY) as RelayState[];
export const PAYER_STATES = Object.keys(PAYER) as PayerState[];

export function relayTransition(state: RelayState, event: RelayEvent): RelayState {
  return step('relay', RELAY, state, event);
}

export function payerTransition(state: PayerState, event: PayerEvent): PayerState {
  return step('payer', PAYER, state, event);
}

/** Events the state accepts (for watchers deciding what to look for). */
export function relayEvents(state: RelayState): RelayEvent[] {
  return Object.keys(RELAY[state] ?? {}) as RelayEvent[];
}

export function payerEvents(state: PayerState): PayerEvent[] {
  return Object.keys(PAYER[state] ?? {}) as PayerEvent[];
}

function step<S extends string, E extends string>(who: string, table: Record<S, Partial<Record<E, S>>>, state: S, event: E): S {
  const row = Object.hasOwn(table, state) ? table[state] : undefined;
  if (!row) throw new ContractError('BAD_TRANSITION', `${who} state expected one of ${Object.keys(table).join(', ')}, got ${JSON.stringify(state)}`);
  const next = Object.hasOwn(row, event) ? row[event] : undefined;
  if (next === undefined) throw new ContractError('BAD_TRANSITION', `${who} state "${state}" expected one of [${Object.keys(row).join(', ')}], got event ${JSON.stringify(event)}`);
  return next;
}
