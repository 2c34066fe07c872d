// The CLI's amounts: thousands grouped by ",", whatever the locale, written out (no Intl).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { grouped, sats, total } from '../../src/cli/money.ts';

describe('CLI amounts', () => {
  it('groups thousands as en-US does, signs and rounds whole numbers', () => {
    const en = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
    for (const n of [0, 7, 999, 1000, 1084, 12345, 100000, 999999, 1000000, 2_100_000_000_000_000, -1, -667, -1000, -123456789, 0.4, 999.6, -0.4, 1234.5]) {
      assert.equal(grouped(n), en.format(n).replace(/^-0$/, '0'), String(n));
    }
    assert.equal(sats(100000), '100,000 sat');
    assert.equal(total([['price', 1000], ['funding fee', 514]]), '1,514 sat (price 1,000 sat + funding fee 514 sat)');
  });
});
