// ChannelAuth (0x37): a canonical round trip, and a signature that binds every field it covers:
// the relay, the op, the channel, the timestamp, the nonce and the payer key.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EncodingError } from '../../src/core/codec.ts';
import { ChannelAuthCodec, NO_CHANNEL, signChannelAuth, verifyChannelAuth, type ChannelAuth } from '../../src/channels/auth.ts';
import * as c from './helpers.ts';

const { h } = c;

describe('channel auth', () => {
  const relayId = new Uint8Array(32).fill(7);
  const payer = { privkey: h.PAYER, pubkey: h.pub(h.PAYER) };
  const auth = signChannelAuth({ op: 'view', channelId: 'ab'.repeat(32), timestamp: 1_700_000_000_000, nonce: new Uint8Array(16).fill(1) }, relayId, payer);

  it('round-trips canonically and verifies for the relay it names', () => {
    const bytes = ChannelAuthCodec.encode(auth);
    assert.equal(bytes[0], 0x37);
    assert.deepEqual(ChannelAuthCodec.decode(bytes), auth);
    assert.ok(verifyChannelAuth(auth, relayId));
    const key = signChannelAuth({ op: 'key', channelId: NO_CHANNEL, timestamp: 1, nonce: new Uint8Array(16) }, relayId, payer);
    assert.ok(verifyChannelAuth(ChannelAuthCodec.decode(ChannelAuthCodec.encode(key)), relayId));
  });

  it('a change of any signed field, or another key, does not verify', () => {
    const changed: ChannelAuth[] = [
      { ...auth, op: 'close' },
      { ...auth, channelId: 'cd'.repeat(32) },
      { ...auth, timestamp: auth.timestamp + 1 },
      { ...auth, nonce: new Uint8Array(16).fill(2) },
      { ...auth, payerPubkey: h.pub(h.RELAY) },
    ];
    for (const a of changed) assert.equal(verifyChannelAuth(a, relayId), false, JSON.stringify({ ...a, signature: undefined }));
    assert.equal(verifyChannelAuth(auth, new Uint8Array(32).fill(8)), false, 'another relay');
  });

  it('malformed encodings are typed EncodingErrors', () => {
    const bytes = ChannelAuthCodec.encode(auth);
    assert.throws(() => ChannelAuthCodec.decode(bytes.subarray(0, bytes.length - 1)), (e: unknown) => EncodingError.is(e));
    const badOp = Uint8Array.from(bytes);
    badOp[2 + 33] = 9;
    assert.throws(() => ChannelAuthCodec.decode(badOp), (e: unknown) => EncodingError.is(e));
  });
});
