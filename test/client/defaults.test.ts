// A plain `satpost send` must be acceptable to a relay running with default settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RETENTION_DAYS } from '../../src/client/send.ts';
import { DEFAULTS, finish, retentionCeilingSecs } from '../../src/relay/config.ts';

test('the default retention fits what a default relay keeps', () => {
  const ceiling = retentionCeilingSecs(finish({ ...DEFAULTS, dataDir: '/nonexistent' }));
  assert.ok(DEFAULT_RETENTION_DAYS * 86_400 <= ceiling, `default ${DEFAULT_RETENTION_DAYS * 86_400} s > relay ceiling ${ceiling} s`);
});
