import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { nodeEd25519 } from '../../src/crypto/ed25519-node.ts';
import { P2pError } from '../../src/p2p/errors.ts';
import { createRelayNode, DHT_PROTOCOL } from '../../src/p2p/node.ts';
import { relayIdOf } from '../../src/p2p/ids.ts';
import { SeenSet } from '../../src/p2p/seen.ts';
import { waitFor } from './net.ts';

describe('relay node', () => {
  it('its libp2p identity is the relay node key', async () => {
    const secret = new Uint8Array(randomBytes(32));
    const node = await createRelayNode({ nodeSecret: secret });
    assert.deepEqual(node.relayId, nodeEd25519().publicKey(secret));
    assert.deepEqual(relayIdOf(node.peerId), node.relayId);
  });

  it('refuses a bad secret or multiaddr', async () => {
    await assert.rejects(createRelayNode({ nodeSecret: new Uint8Array(31) }), (e) => P2pError.is(e, 'BAD_CONFIG'));
    await assert.rejects(createRelayNode({ nodeSecret: new Uint8Array(32), listen: 'not-an-addr' }), (e) => P2pError.is(e, 'BAD_CONFIG'));
    await assert.rejects(createRelayNode({ nodeSecret: new Uint8Array(32), bootstrap: ['/ip4/1.2.3'] }), (e) => P2pError.is(e, 'BAD_CONFIG'));
  });

  it('runs the DHT on the private /satpost prefix and connects to its bootstrap relays', async () => {
    const a = await createRelayNode({ nodeSecret: new Uint8Array(randomBytes(32)), dht: true });
    await a.start();
    try {
      assert.ok(a.libp2p.getProtocols().includes(DHT_PROTOCOL));
      assert.ok(!a.libp2p.getProtocols().some((p) => p.startsWith('/ipfs/kad')));
      const b = await createRelayNode({ nodeSecret: new Uint8Array(randomBytes(32)), dht: true, bootstrap: [a.multiaddrs()[0]!.toString()] });
      const connected = waitFor(() => b.libp2p.getPeers().some((p) => p.equals(a.peerId)), [b.libp2p], ['peer:connect'], 'bootstrap connection');
      await b.start();
      try {
        await connected;
      } finally {
        await b.stop();
      }
    } finally {
      await a.stop();
    }
  });
});

describe('SeenSet', () => {
  it('suppresses duplicates within the ttl, forgets after it, and stays within capacity', () => {
    let t = 0;
    const s = new SeenSet(100, 3, () => t);
    assert.equal(s.add('a'), true);
    assert.equal(s.add('a'), false);
    t = 100;
    assert.equal(s.add('a'), true);
    s.add('b');
    s.add('c');
    s.add('d');
    assert.equal(s.size, 3);
    assert.equal(s.add('a'), true); // evicted as the oldest
    assert.equal(s.add('d'), false);
  });
});
