import { SatpostError } from '../core/errors.ts';

export type AppErrorCode =
  | 'NO_TOKEN'
  | 'BAD_ORIGIN'
  | 'BAD_CSRF'
  | 'BAD_REQUEST'
  | 'NOT_FOUND'
  | 'LOCKED'
  | 'NOT_INITIALIZED'
  | 'ALREADY_UNLOCKED'
  | 'NO_FAUCET'
  | 'FRONT_END_MISSING'
  | 'BAD_HOST';

/** The app server's own refusals (the SDK's errors pass through with their codes). */
export class AppError extends SatpostError<AppErrorCode> {}

/** HTTP status of an error the API answers with. */
export function statusOf(err: unknown): number {
  if (!(err instanceof SatpostError)) return 500;
  switch (err.code) {
    case 'NO_TOKEN':
      return 401;
    case 'BAD_ORIGIN':
    case 'BAD_CSRF':
    case 'BAD_HOST':
      return 403;
    case 'NOT_FOUND':
      return 404;
    case 'LOCKED':
    case 'NOT_INITIALIZED':
    case 'ALREADY_UNLOCKED':
    case 'ALREADY_INITIALIZED':
      return 409;
    default:
      return 400;
  }
}
