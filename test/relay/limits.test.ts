// Rate limit, body limit and configuration loading.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OfferCodec } from '../../src/core/objects/index.ts';
import { DEFAULTS, envName, loadConfig } from '../../src/relay/config.ts';
import { RelayError } from '../../src/relay/errors.ts';
import { RateLimiter } from '../../src/relay/rate-limit.ts';
import { OP } from '../../src/core/wire/stream.ts';
import { OCTET, StreamClient, errorOf, newIdentity, offer, rnd, testRelay } from './helpers.ts';

describe('relay limits', { timeout: 60_000 }, () => {
  it('refuses requests beyond the rate limit with 429 RATE_LIMITED, over HTTP and the stream', async () => {
    const relay = await testRelay({ rateLimitBurst: 3, rateLimitPerSec: 0 });
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await fetch(`${relay.url}/.well-known/satpost`)).status);
      assert.deepEqual(statuses, [200, 200, 200]);
      const e = await errorOf(await fetch(`${relay.url}/.well-known/satpost`));
      assert.deepEqual([e.status, e.code], [429, 'RATE_LIMITED']);
      const s = await StreamClient.open(relay.url);
      try {
        const r = await s.request(OP.quote, OfferCodec.encode(offer(newIdentity().mailbox, 10)));
        assert.equal(r.status, 1);
        assert.equal(JSON.parse(Buffer.from(r.payload).toString()).error.code, 'RATE_LIMITED');
      } finally {
        await s.close();
      }
    } finally {
      await relay.close();
    }
  });

  it('refuses a body above the limit with 413 BODY_TOO_LARGE, and a huge stream frame by closing (1009)', async () => {
    const relay = await testRelay({ maxMessageBytes: 1000, bodyLimitBytes: 4096 });
    try {
      const e = await errorOf(await fetch(`${relay.url}/v1/deposit`, { method: 'POST', headers: OCTET, body: Buffer.from(rnd(5000)) }));
      assert.deepEqual([e.status, e.code], [413, 'BODY_TOO_LARGE']);
      const s = await StreamClient.open(relay.url);
      const closed = new Promise<number>((resolve) => s.ws.once('close', (code) => resolve(code)));
      s.ws.send(rnd(5000));
      assert.equal(await closed, 1009);
    } finally {
      await relay.close();
    }
  });

  it('token bucket refills with time; a full table makes room', () => {
    let t = 0;
    const rl = new RateLimiter(2, 1, () => t, 2);
    assert.deepEqual([rl.take('a'), rl.take('a'), rl.take('a')], [true, true, false]);
    t += 1000;
    assert.deepEqual([rl.take('a'), rl.take('a')], [true, false]);
    assert.equal(rl.take('b'), true);
    assert.equal(rl.take('c'), true, 'a full table evicts');
    assert.equal(new RateLimiter(0, 0).take('x'), true, 'burst 0 disables limiting');
  });
});

describe('relay configuration', () => {
  it('layers defaults < file < env < flags and validates every value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'satpost-relay-cfg-'));
    try {
      const file = join(dir, 'relay.json');
      writeFileSync(file, JSON.stringify({ port: 9000, priceBaseSats: 7, name: 'from file', acceptedModes: ['recipient-pays'] }));
      const cfg = loadConfig({
        file,
        env: { [envName('priceBaseSats')]: '8', [envName('pricePerBlockSats')]: '3', SATPOST_RELAY_NAME: 'from env' },
        flags: { name: 'from flags', port: undefined },
      });
      assert.equal(envName('pricePerBlockSats'), 'SATPOST_RELAY_PRICE_PER_BLOCK_SATS');
      assert.deepEqual([cfg.port, cfg.priceBaseSats, cfg.pricePerBlockSats, cfg.name], [9000, 8, 3, 'from flags']);
      assert.deepEqual(cfg.acceptedModes, ['recipient-pays']);
      assert.equal(cfg.bodyLimitBytes, cfg.maxMessageBytes + 2048 + 8192, 'derived default');
      assert.equal(DEFAULTS.synchronous, 'FULL');

      const refused = (sources: Parameters<typeof loadConfig>[0], pattern: RegExp) =>
        assert.throws(() => loadConfig(sources), (e: unknown) => RelayError.is(e, 'BAD_CONFIG') && pattern.test((e as Error).message));
      refused({ flags: { port: '70000' } }, /command line: "port" expected an integer 0\.\.65535 \(TCP port\), got "70000"/);
      refused({ env: { SATPOST_RELAY_SYNCHRONOUS: 'OFF' } }, /environment: "synchronous" expected FULL or NORMAL, got "OFF"/);
      refused({ flags: { acceptedModes: 'both' } }, /"acceptedModes" expected a non-empty list/);
      refused({ flags: { network: 'moon' } }, /"network" expected regtest/);
      refused({ flags: { lockBlocks: 10, claimMarginBlocks: 10 } }, /"claimMarginBlocks" expected < lockBlocks \(10\), got 10/);
      writeFileSync(file, JSON.stringify({ prot: 1 }));
      refused({ file }, /unknown setting "prot"/);
      writeFileSync(file, '{');
      refused({ file }, /config file .*relay\.json/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
