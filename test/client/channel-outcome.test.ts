// The one classifier of a failed channel update: refused (undo, may go on chain), unreachable and
// unknown (kept, resolved through the channel), for each kind of error the channel path raises.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelError } from '../../src/channels/errors.ts';
import { ContractError } from '../../src/contracts/index.ts';
import { channelOutcome, isChannelRefusal } from '../../src/client/channel-outcome.ts';
import { ClientError } from '../../src/client/errors.ts';
import { WatchError } from '../../src/watch/errors.ts';

test('channelOutcome: refused, unreachable or unknown for each error type', () => {
  const cases: [unknown, string][] = [
    // The local core, before anything was signed or sent.
    [new ChannelError('INSUFFICIENT_CAPACITY', 'x'), 'refused'],
    [new ChannelError('HTLC_EXPIRY_TOO_SOON', 'x'), 'refused'],
    [new WatchError('BAD_STATE', 'x'), 'refused'],
    [new WatchError('UNKNOWN_CHANNEL', 'x'), 'refused'],
    [new WatchError('CLOSED', 'x'), 'unknown'],
    // The relay's typed refusals of the update itself.
    [new ClientError('TOO_MANY_IN_FLIGHT', 'x'), 'refused'],
    [new ClientError('STATE_NUMBER_MISMATCH', 'x'), 'refused'],
    [new ClientError('BAD_STATE', 'x'), 'refused'],
    [new ClientError('FUNDING_UNCONFIRMED', 'x'), 'refused'],
    // No answer: the add may have been taken.
    [new ClientError('RELAY_UNREACHABLE', 'x'), 'unreachable'],
    // Answers that say nothing about the update.
    [new ClientError('BAD_RELAY_ANSWER', 'x'), 'unknown'],
    [new ClientError('INTERNAL', 'x'), 'unknown'],
    [new ClientError('CHAIN_UNAVAILABLE', 'x'), 'unknown'],
    [new ClientError('SHUTTING_DOWN', 'x'), 'unknown'],
    [new ClientError('RATE_LIMITED', 'x'), 'unknown'],
    // Turned away before the update was looked at (too many requests on the stream, a slow request body).
    [new ClientError('STREAM_BUSY', 'x'), 'unknown'],
    [new ClientError('REQUEST_TIMEOUT', 'x'), 'unknown'],
    [new ClientError('CANCELLED', 'x'), 'unknown'],
    // Anything untyped or from another domain.
    [new Error('boom'), 'unknown'],
    [new TypeError('x'), 'unknown'],
    [new ContractError('NOT_A_CONTRACT', 'x'), 'unknown'],
    [undefined, 'unknown'],
    ['RELAY_UNREACHABLE', 'unknown'],
  ];
  for (const [err, want] of cases) {
    const label = err instanceof Error ? `${err.constructor.name}(${(err as { code?: string }).code ?? err.message})` : String(err);
    assert.equal(channelOutcome(err), want, label);
    assert.equal(isChannelRefusal(err), want === 'refused', label);
  }
});
