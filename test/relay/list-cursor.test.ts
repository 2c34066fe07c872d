// The list route's query decoders (found by `npm run fuzz`): one spelling per value. They live in
// the core (src/core/wire/list-cursor.ts) and throw ListPageError; the relay answers BAD_REQUEST.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { ListPageError, parseListCursor, parseListLimit } from '../../src/core/wire/list-cursor.ts';
import { toRelayError } from '../../src/relay/http.ts';

it('a page limit spelt with leading zeros (a second spelling of one value) is refused, and the relay says BAD_REQUEST', () => {
  for (const v of ['007', '01', '0001000', '00']) {
    assert.throws(() => parseListLimit(v), (e: unknown) => ListPageError.is(e, 'BAD_LIMIT') && toRelayError(e).code === 'BAD_REQUEST', v);
  }
  assert.throws(() => parseListCursor('5.nothex'), (e: unknown) => ListPageError.is(e, 'BAD_CURSOR') && toRelayError(e).status === 400);
  assert.equal(parseListLimit('7'), 7);
  assert.equal(parseListLimit('1000'), 1000);
  assert.equal(parseListLimit(20), 20);
});
