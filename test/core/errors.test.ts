import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SatpostError, expected } from '../../src/core/errors.ts';

class AError extends SatpostError<'X' | 'Y'> {}
class BError extends SatpostError<'X'> {}

test('typed errors carry name, code and cause, and guard by class and code', () => {
  const cause = new Error('inner');
  const e = new AError('X', 'boom', { cause });
  assert.equal(e.name, 'AError');
  assert.equal(e.code, 'X');
  assert.equal(e.cause, cause);
  assert.ok(AError.is(e));
  assert.ok(AError.is(e, 'X'));
  assert.ok(!AError.is(e, 'Y'));
  assert.ok(!BError.is(e, 'X'));
  assert.ok(!AError.is(new Error('plain')));
  assert.deepEqual(JSON.parse(JSON.stringify(e)), { name: 'AError', code: 'X', message: 'boom' });
});

test('expected() says what was expected and what came', () => {
  assert.equal(expected('locktime', '> tip+6', 812), '"locktime" expected > tip+6, got 812');
  assert.equal(expected('hash', '32 bytes', new Uint8Array(31)), '"hash" expected 32 bytes, got 31 bytes');
});
