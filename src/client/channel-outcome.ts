/**
 * What a failed channel update means for the money in it. The one place that decides; the
 * channel client (./channels.ts), sends (./send.ts) and reads (./receive.ts) all ask it.
 *
 *   refused      the update was judged and turned down. Either by the local core before
 *                anything was signed and committed (a ChannelError, or a WatchError other than
 *                CLOSED, from the payer's channel party), or by the relay, which answered a typed
 *                refusal of the update itself (a ClientError carrying the relay's code, e.g.
 *                TOO_MANY_IN_FLIGHT, HTLC_EXPIRY_TOO_SOON, STATE_NUMBER_MISMATCH, BAD_STATE).
 *                The relay's book did not take it: the payer may undo it
 *                (ClientChannels.pay does, once the relay's view confirms it is a state behind).
 *   unreachable  RELAY_UNREACHABLE: no answer (connection refused, reset, timeout). The update
 *                may have left and been taken.
 *   unknown      everything else: an answer that does not parse or fails a check
 *                (BAD_RELAY_ANSWER), the relay's own trouble (INTERNAL, CHAIN_UNAVAILABLE,
 *                SHUTTING_DOWN, RATE_LIMITED, STREAM_BUSY, REQUEST_TIMEOUT: isRelayTrouble),
 *                CANCELLED, a closed book, any untyped error.
 *
 * Only `refused` lets a payment leave the channel for the chain. `unreachable` and `unknown`
 * keep the update as it is: it is resolved through the channel (resync resends it, the relay
 * answers a byte-identical resend as it did the first time), never paid a second time on chain.
 */
import { ChannelError } from '../channels/errors.ts';
import { WatchError } from '../watch/errors.ts';
import { ClientError, isRelayTrouble } from './errors.ts';

export type ChannelOutcome = 'refused' | 'unreachable' | 'unknown';

export function channelOutcome(err: unknown): ChannelOutcome {
  if (err instanceof ChannelError) return 'refused';
  if (err instanceof WatchError) return err.code === 'CLOSED' ? 'unknown' : 'refused';
  if (ClientError.is(err, 'RELAY_UNREACHABLE')) return 'unreachable';
  // The relay's passing trouble and a cancel say nothing about the update itself: the relay may hold it, or take it if sent again.
  if (ClientError.is(err) && !isRelayTrouble(err) && err.code !== 'CANCELLED') return 'refused';
  return 'unknown';
}

/** True when the channel update was refused (see channelOutcome): it is not in the relay's book. */
export function isChannelRefusal(err: unknown): boolean {
  return channelOutcome(err) === 'refused';
}
