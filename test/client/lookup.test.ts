// Lookups from the client through a line of 4 relay daemons (real libp2p, real SQLite on
// 127.0.0.1): a bundle published at one edge is found and fetched from the other and starts
// a Signal session; relay listings; answers forged by the relay asked are dropped and counted;
// `satpost relays` as a process.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { hex } from '@scure/base';
import { ClientError } from '../../src/client/errors.ts';
import { bundleFromNetwork, findBundleHolders, findRelays } from '../../src/client/lookup.ts';
import { relayClients } from '../../src/client/mail-context.ts';
import { publishBundleTo } from '../../src/client/publish.ts';
import { RelayClient } from '../../src/client/relay-client.ts';
import { nodeEd25519 } from '../../src/crypto/ed25519-node.ts';
import { verifyBundle } from '../../src/identity/bundle.ts';
import { mailboxIdOf } from '../../src/identity/keys.ts';
import type { RelayConfig } from '../../src/relay/config.ts';
import { connect, lineEdges, waitTopology, type Relay } from '../p2p/net.ts';
import { testRelay, type TestRelay } from '../relay/helpers.ts';
import { makeUser, tempDir as identityDir, type User } from '../identity/helpers.ts';
import { baseEnv, run } from '../cli/helpers.ts';

const FAST = { heartbeatMs: 100, topologyDebounceMs: 20 };
const NET: Partial<RelayConfig> = { p2pMinPeers: 0, topologyRepublishSecs: 1, queryBudgetMs: 3000 };
const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A "relay" that passes lookups on to `upstream` and rewrites the answers with `tamper`. */
function tamperingProxy(upstream: string, tamper: (answers: string[]) => string[]): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    void (async () => {
      const up = await fetch(upstream + req.url!);
      const body = (await up.json()) as { lookupId: string; answers: string[] };
      res.writeHead(up.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ...body, answers: up.status === 200 ? tamper(body.answers) : body.answers }));
    })();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })));
}

describe('lookups through a line of 4 relays', { timeout: 120_000 }, () => {
  const daemons: TestRelay[] = [];
  let ids: { dir: string; cleanup: () => void };
  let carol: User;
  let alice: User;
  let mailbox: Uint8Array;
  const ctx = () => ({ relays: [daemons[0]!.url], relay: relayClients(), ed: nodeEd25519(), random: rnd });

  before(async () => {
    for (let i = 0; i < 4; i++) {
      const bootstrap = i === 0 ? [] : [String(daemons[i - 1]!.network.info().multiaddrs![0])];
      daemons.push(await testRelay({ ...NET, bootstrap, priceBaseSats: 1000 + i }, { p2p: FAST }));
    }
    const net: Relay[] = daemons.map((d, index) => {
      const p = d.network.parts!;
      return { index, secret: new Uint8Array(0), node: p.node, queries: p.queries, offers: p.offers, topology: p.topology };
    });
    await connect(net, lineEdges(4));
    await waitTopology(net);
    ids = identityDir();
    carol = makeUser(ids.dir, 'carol', { poolSize: 3, kyberPoolSize: 2, threshold: 1, kyberThreshold: 1 });
    alice = makeUser(ids.dir, 'alice');
    mailbox = mailboxIdOf(carol.self.publicKey);
    await publishBundleTo(new RelayClient(daemons[3]!.url), carol.prekeys.buildBundle(Date.now()), carol.self.keyPair.privateKey, { now: Date.now, random: rnd });
  });
  after(async () => {
    carol?.db.close();
    alice?.db.close();
    ids?.cleanup();
    await Promise.all(daemons.map((d) => d.close()));
  });

  it('finds the holder at the far edge (the lookup takes no key), fetches the bundle and starts a Signal session', async () => {
    const holders = await findBundleHolders(daemons[0]!.url, mailbox);
    assert.ok(holders);
    assert.equal(holders.forged, 0);
    assert.deepEqual(holders.found, [{ relayId: hex.encode(daemons[3]!.service.relayId), url: daemons[3]!.url, oneTimePreKeys: 3, kyberPreKeys: 2 }]);

    // An unreachable relay of the user's is skipped.
    const bundle = await bundleFromNetwork({ ...ctx(), relays: ['http://127.0.0.1:1', daemons[0]!.url] }, mailbox);
    assert.ok(bundle);
    verifyBundle(bundle, mailbox);
    assert.deepEqual(bundle.identityKey, carol.self.publicKey);
    assert.equal(bundle.oneTimePreKeys.length, 1);

    const body = await alice.sessions.encryptTo('carol', utf8('found through the network'), { bundle, mailbox });
    assert.equal(new TextDecoder().decode(await carol.sessions.decryptFrom('alice', body)), 'found through the network');

    // The fetch, not the lookup, took one one-time key from the holder.
    const after = await findBundleHolders(daemons[1]!.url, mailbox);
    assert.deepEqual(after!.found.map((h) => [h.oneTimePreKeys, h.kyberPreKeys]), [[2, 1]]);
  });

  it('returns undefined for a mailbox nobody holds and refuses bad input with typed errors', async () => {
    assert.equal(await bundleFromNetwork(ctx(), rnd(32)), undefined);
    assert.deepEqual((await findBundleHolders(daemons[0]!.url, rnd(32)))!.found, []);
    await assert.rejects(findBundleHolders(daemons[0]!.url, rnd(31)), (e) => ClientError.is(e, 'BAD_REQUEST'));
    await assert.rejects(bundleFromNetwork(ctx(), rnd(33)), (e) => ClientError.is(e, 'BAD_REQUEST'));
    await assert.rejects(bundleFromNetwork(ctx(), mailbox, AbortSignal.abort()), (e) => ClientError.is(e, 'CANCELLED'));
  });

  it('lists every relay within the hop limit with its signed terms', async () => {
    const out = await findRelays(new RelayClient(daemons[0]!.url));
    assert.ok(out);
    assert.equal(out.forged, 0);
    assert.deepEqual(out.found.map((r) => r.url), daemons.map((d) => d.url));
    assert.deepEqual(out.found.map((r) => r.price.baseSats), [1000, 1001, 1002, 1003]);
    assert.deepEqual((await findRelays(daemons[0]!.url, { hops: 1 }))!.found.map((r) => r.url), daemons.slice(0, 2).map((d) => d.url));
  });

  it('drops and counts answers the relay asked tampered with or replayed', async () => {
    let previous: string[] = [];
    // One answer with a byte flipped inside its signed part; later, a whole earlier answer set.
    let mode: 'flip' | 'replay' = 'flip';
    const proxy = await tamperingProxy(daemons[1]!.url, (answers) => {
      if (mode === 'replay') return previous;
      previous = answers;
      return answers.map((a, i) => {
        if (i !== 2) return a;
        const b = hex.decode(a);
        b[40] = b[40]! ^ 1;
        return hex.encode(b);
      });
    });
    try {
      const flipped = await findRelays(proxy.url);
      assert.equal(flipped!.forged, 1);
      assert.equal(flipped!.found.length, 3);
      mode = 'replay';
      const replayed = await findRelays(proxy.url);
      assert.deepEqual([replayed!.found.length, replayed!.forged], [0, 4], 'answers signed for another lookup id are not accepted');
    } finally {
      proxy.server.close();
    }
  });

  it('`satpost relays` lists the network through --relay, as JSON and as text', async () => {
    const env = baseEnv();
    const json = await run(['relays', '--relay', daemons[3]!.url, '--json'], env);
    assert.equal(json.code, 0, json.stderr);
    const out = JSON.parse(json.stdout) as { via: string; relays: { url: string; relayId: string; channels: boolean; price: { baseSats: number } }[]; forged: number };
    assert.equal(out.via, `${daemons[3]!.url}/`, 'the canonical form of the URL asked');
    assert.deepEqual(out.relays.map((r) => r.url), [...daemons].reverse().map((d) => d.url));
    assert.deepEqual(out.relays.map((r) => r.channels), [true, true, true, true]);
    assert.equal(out.forged, 0);
    const text = await run(['relays', '--relay', daemons[0]!.url, '--hops', '0'], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^1 relay found through http:\/\/127\.0\.0\.1:\d+\/\n[0-9a-f]{16}… {2}http:\/\/127\.0\.0\.1:\d+ {2}1000 sats \+ \d+\/16 KiB \+ \d+\/day {2}modes [a-z,-]+ {2}channels yes/);
    const empty = mkdtempSync(join(tmpdir(), 'satpost-relays-'));
    try {
      const e = await run(['relays', '--data-dir', empty, '--json'], env);
      assert.equal(e.code, 1);
      assert.equal((JSON.parse(e.stdout) as { error: { code: string } }).error.code, 'BAD_DATA_DIR');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
