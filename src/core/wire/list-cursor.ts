/**
 * The keyset cursor of POST /v1/tags/list (docs/relay-api.md): `<createdAt>.<id>`, the
 * createdAt (decimal ms) and id (64 lowercase hex) of the last entry a page held. A listing is
 * ordered by (createdAt, id), so "after this pair" stays exact while messages arrive or expire
 * between pages, where an offset would skip or repeat entries. Shared by the relay and the SDK.
 */
import { hex } from '@scure/base';
import { SatpostError, expected } from '../errors.ts';

/** A malformed cursor or page size (the relay answers it as BAD_REQUEST; the client as a bad relay answer). */
export class ListPageError extends SatpostError<'BAD_CURSOR' | 'BAD_LIMIT'> {}

/** Most entries in one listing page, and the page size when the request names none. */
export const LIST_PAGE_MAX = 1000;

export interface ListCursor {
  createdAt: number;
  id: Uint8Array;
}

const CURSOR_RE = /^(0|[1-9][0-9]{0,15})\.([0-9a-f]{64})$/;

export function formatListCursor(c: { createdAt: number; id: Uint8Array | string }): string {
  return `${c.createdAt}.${typeof c.id === 'string' ? c.id : hex.encode(c.id)}`;
}

/** ListPageError BAD_CURSOR unless `v` is exactly one well-formed cursor. */
export function parseListCursor(v: unknown): ListCursor {
  const m = typeof v === 'string' ? CURSOR_RE.exec(v) : null;
  const createdAt = m ? Number(m[1]) : NaN;
  if (m === null || !Number.isSafeInteger(createdAt)) {
    throw new ListPageError('BAD_CURSOR', expected('after', '<createdAt ms>.<64 lowercase hex id> (the last entry of the previous page)', v));
  }
  return { createdAt, id: hex.decode(m[2]!) };
}

/**
 * ListPageError BAD_LIMIT unless `v` is a decimal integer 1..LIST_PAGE_MAX (a number or its digits, without
 * leading zeros: one spelling per value, as the cursor has).
 */
export function parseListLimit(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^[1-9][0-9]{0,6}$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > LIST_PAGE_MAX) throw new ListPageError('BAD_LIMIT', expected('limit', `an integer 1..${LIST_PAGE_MAX}`, v));
  return n;
}

/** Strict order of listing positions: negative when `a` comes before `b`. */
export function compareListCursors(a: ListCursor, b: ListCursor): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  for (let i = 0; i < 32; i++) if (a.id[i] !== b.id[i]) return a.id[i]! - b.id[i]!;
  return 0;
}
