/**
 * Relay refusals. Each code has one HTTP status, and the message is safe to show a client
 * (it never contains secrets or other users' data). Clients branch on `code`.
 */
import { SatpostError } from '../core/errors.ts';

export const RELAY_ERROR_STATUS = {
  BAD_REQUEST: 400,
  REQUEST_TIMEOUT: 408,
  HEADERS_TOO_LARGE: 431,
  BAD_ENCODING: 400,
  BAD_CONFIG: 500,
  BAD_DEPOSIT: 400,
  MODE_NOT_ACCEPTED: 422,
  TOO_LARGE: 413,
  BODY_TOO_LARGE: 413,
  RETENTION_TOO_LONG: 422,
  FEE_TOO_LOW: 402,
  MAILBOX_QUOTA_FULL: 507,
  UNPAID_QUOTA_FULL: 507,
  DEPOSITOR_QUOTA_FULL: 429,
  QUOTE_UNKNOWN: 404,
  QUOTE_EXPIRED: 410,
  QUOTE_USED: 409,
  MAILBOX_MISMATCH: 422,
  SIZE_MISMATCH: 422,
  FUNDING_UNAVAILABLE: 501,
  FUNDING_UNEXPECTED: 422,
  FUNDING_MISMATCH: 422,
  FUNDING_NOT_FOUND: 422,
  BAD_PUBKEY: 400,
  PAYMENT_CONFLICT: 409,
  CONTRACT_EXPIRED: 410,
  AUTH_MAILBOX_MISMATCH: 403,
  AUTH_BAD_KEY: 400,
  AUTH_BAD_SIGNATURE: 403,
  AUTH_STALE: 403,
  AUTH_WRONG_RELAY: 403,
  AUTH_WRONG_OPERATION: 403,
  AUTH_UNKNOWN_CHALLENGE: 403,
  AUTH_CHALLENGE_USED: 403,
  AUTH_CHALLENGE_EXPIRED: 403,
  MESSAGE_UNKNOWN: 404,
  PROTOCOL_UPGRADED: 410,
  PREIMAGE_MISMATCH: 422,
  UNLOCK_UNAVAILABLE: 501,
  CHAIN_UNAVAILABLE: 503,
  /** The wallet has no unused key left in the derivation space a quote or channel needs. */
  KEYS_EXHAUSTED: 503,
  RATE_LIMITED: 429,
  STREAM_BUSY: 429,
  NOT_FOUND: 404,
  BAD_CONTENT_TYPE: 415,
  SHUTTING_DOWN: 503,
  INTERNAL: 500,
  // src/relay/network.ts
  P2P_OFF: 503,
  QUERY_REFUSED: 422,
  // src/relay/prekeys.ts
  NO_BUNDLE: 404,
  BAD_BUNDLE: 422,
  PUBLISH_AUTH_REQUIRED: 401,
  PUBLISH_WRONG_RELAY: 403,
  PUBLISH_STALE: 403,
  PUBLISH_BAD_SIGNATURE: 403,
  PUBLISH_REPLAYED: 403,
  PUBLISH_BACKDATED: 409,
  // src/relay/channels.ts: the relay's own channel refusals, then ChannelError / WatchError codes as they are
  CHANNELS_UNAVAILABLE: 501,
  CHANNEL_TERMS: 422,
  KEY_UNKNOWN: 422,
  CHANNEL_AUTH_REQUIRED: 401,
  CHANNEL_AUTH_REFUSED: 403,
  CHANNEL_AUTH_STALE: 403,
  CHANNEL_AUTH_REPLAYED: 403,
  UNKNOWN_CHANNEL: 404,
  DUPLICATE_CHANNEL: 409,
  BAD_STATE: 409,
  WRONG_KEY: 422,
  NOT_A_CHANNEL: 422,
  BAD_PARAMS: 422,
  FUNDING_UNCONFIRMED: 409,
  WRONG_CHANNEL: 422,
  STATE_NUMBER_MISMATCH: 409,
  RELAY_BALANCE_DECREASED: 422,
  AMOUNTS_MISMATCH: 422,
  BAD_SIGNATURE: 422,
  HTLC_EXPIRY_TOO_LATE: 422,
  HTLC_EXPIRY_TOO_SOON: 422,
  BAD_HTLC: 422,
  DUST_HTLC: 422,
  DUPLICATE_HTLC: 409,
  UNKNOWN_HTLC: 404,
  TOO_MANY_IN_FLIGHT: 422,
  INSUFFICIENT_CAPACITY: 422,
  FAIL_TOO_EARLY: 422,
  HTLC_REVEALED: 409,
  IN_FLIGHT_NOT_EMPTY: 409,
  NO_COMMITMENT: 409,
  BAD_TX: 422,
} as const;

export type RelayErrorCode = keyof typeof RELAY_ERROR_STATUS;

export class RelayError extends SatpostError<RelayErrorCode> {
  /** Machine-readable extras safe to send (e.g. the price for FEE_TOO_LOW). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: RelayErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(code, message, options);
    this.details = options?.details;
  }

  get status(): number {
    return RELAY_ERROR_STATUS[this.code];
  }

  /** The JSON body of every refusal: {error: {code, message, ...details}}. */
  body(): { error: { code: RelayErrorCode; message: string } & Record<string, unknown> } {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}
