/**
 * Relay refusals. Each code has one HTTP status, and the message is safe to show a client
 * (it never contains secrets or other users' data). Clients branch on `code`.
 */
import { SatpostError } from '../core/errors.ts';

import { RELAY_ERROR_STATUS, type RelayErrorCode } from '../core/wire/relay-errors.ts';

export { RELAY_ERROR_STATUS, type RelayErrorCode };

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
