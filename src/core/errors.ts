/**
 * Typed errors. Every domain has one subclass with a closed set of stable string codes;
 * callers branch on `code` (or the static guard), never on the message text.
 *
 *   if (ChainError.is(err, 'FEE_TOO_LOW')) ...
 */
export class SatpostError<C extends string = string> extends Error {
  readonly code: C;

  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  /** True when `err` is an instance of this class (and, if given, carries `code`). */
  static is<T extends abstract new (...args: never[]) => SatpostError>(
    this: T,
    err: unknown,
    code?: InstanceType<T>['code'],
  ): err is InstanceType<T> {
    return err instanceof this && (code === undefined || (err as SatpostError).code === code);
  }

  toJSON(): { name: string; code: C; message: string } {
    return { name: this.name, code: this.code, message: this.message };
  }
}

/** Input validation in one shape: what was expected and what came. */
export function expected(what: string, expectation: string, got: unknown): string {
  let shown: string;
  if (got instanceof Uint8Array) shown = `${got.length} bytes`;
  else if (typeof got === 'string') shown = JSON.stringify(got.length > 80 ? `${got.slice(0, 77)}...` : got);
  else shown = String(got);
  return `"${what}" expected ${expectation}, got ${shown}`;
}
