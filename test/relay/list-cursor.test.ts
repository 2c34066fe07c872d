// The list route's query decoders (found by `npm run fuzz`): one spelling per value.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { RelayError } from '../../src/relay/errors.ts';
import { parseListLimit } from '../../src/core/wire/list-cursor.ts';

it('a page limit spelt with leading zeros (a second spelling of one value) is refused with BAD_REQUEST', () => {
  for (const v of ['007', '01', '0001000', '00']) {
    assert.throws(() => parseListLimit(v), (e: unknown) => RelayError.is(e, 'BAD_REQUEST'), v);
  }
  assert.equal(parseListLimit('7'), 7);
  assert.equal(parseListLimit('1000'), 1000);
  assert.equal(parseListLimit(20), 20);
});
