// Channel messages: canonical round trips of what the state machine produces, and typed
// EncodingErrors for every malformed input.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EncodingError } from '../../src/core/codec.ts';
import {
  AddHtlcCodec, ChannelOpenCodec, CloseRequestCodec, CloseSignedCodec, decodeChannelMessage, FailHtlcCodec, SettleAckCodec, SettleHtlcCodec,
} from '../../src/channels/messages.ts';
import { acceptSettle, channelFromOpen, confirmFunding, openMessage, proposeAdd, proposeFail, requestClose, requestSettle, signClose } from '../../src/channels/state.ts';
import * as c from './helpers.ts';

const { h } = c;
const decodeFails = (fn: () => unknown, code: string) => assert.throws(fn, (e: unknown) => EncodingError.is(e) && e.code === code, `expected ${code}`);

describe('channel messages', () => {
  const b = c.openBoth();
  const x = c.htlcFor(1, 'sender-pays', 500, 10_000);
  const y = c.htlcFor(2, 'recipient-pays', 500, 10_000);
  const added = proposeAdd(b.payer, x.terms, { tip: 100, payerPrivkey: h.PAYER });
  const p = { payer: added.state, relay: added.state };
  const settleReq = requestSettle(p.relay, 0, x.k, x.r);
  const ack = acceptSettle(p.payer, settleReq, { payerPrivkey: h.PAYER });
  const added2 = proposeAdd(ack.state, y.terms, { tip: 100, payerPrivkey: h.PAYER });
  const failed = proposeFail(added2.state, 1, { tip: 500, payerPrivkey: h.PAYER });
  const closeReq = requestClose(failed.state, h.RELAY);
  const closeSigned = signClose(failed.state, closeReq, h.PAYER).message;

  const cases = [
    ['open', ChannelOpenCodec, openMessage(b.payer)],
    ['add', AddHtlcCodec, added.message],
    ['add', AddHtlcCodec, added2.message],
    ['settle', SettleHtlcCodec, settleReq],
    ['settle', SettleHtlcCodec, requestSettle(added2.state, 1, y.k)],
    ['settle-ack', SettleAckCodec, ack.message],
    ['fail', FailHtlcCodec, failed.message],
    ['close-request', CloseRequestCodec, closeReq],
    ['close-signed', CloseSignedCodec, closeSigned],
  ] as const;

  it('round-trips every message the state machine produces, and dispatches by tag', () => {
    for (const [type, codec, msg] of cases) {
      const wire = (codec as { encode(v: unknown): Uint8Array }).encode(msg);
      const back = (codec as { decode(b: Uint8Array): unknown }).decode(wire);
      const d = decodeChannelMessage(wire);
      assert.equal(d.type, type);
      assert.deepEqual((codec as { encode(v: unknown): Uint8Array }).encode(back), wire);
      assert.deepEqual((codec as { encode(v: unknown): Uint8Array }).encode(d.message), wire);
    }
    assert.deepEqual(confirmFunding(channelFromOpen(ChannelOpenCodec.decode(ChannelOpenCodec.encode(openMessage(b.payer))))), b.payer);
  });

  it('refuses malformed bytes with typed codes', () => {
    const wire = AddHtlcCodec.encode(added.message);
    decodeFails(() => AddHtlcCodec.decode(wire.slice(0, -1)), 'TRUNCATED');
    decodeFails(() => AddHtlcCodec.decode(Uint8Array.of(...wire, 0)), 'TRAILING_BYTES');
    decodeFails(() => AddHtlcCodec.decode(Uint8Array.of(0x32, ...wire.slice(1))), 'BAD_TAG');
    decodeFails(() => AddHtlcCodec.decode(Uint8Array.of(wire[0]!, 2, ...wire.slice(2))), 'BAD_VERSION');
    decodeFails(() => decodeChannelMessage(Uint8Array.of(0x3f, 1)), 'BAD_TAG');
    decodeFails(() => decodeChannelMessage(new Uint8Array(0)), 'TRUNCATED');
    // htlc.hr presence byte: after tag, version, channelId 32, n 8, relay 8, payer 8, id 8, mode 1, hk 32
    const at = 2 + 32 + 8 + 8 + 8 + 8 + 1 + 32;
    assert.equal(wire[at], 1);
    const twoPresence = wire.slice();
    twoPresence[at] = 2;
    decodeFails(() => AddHtlcCodec.decode(twoPresence), 'NON_CANONICAL');
    const badMode = wire.slice();
    badMode[at - 33] = 9;
    decodeFails(() => AddHtlcCodec.decode(badMode), 'BAD_VALUE');
    const open = ChannelOpenCodec.encode(openMessage(b.payer));
    const badKey = open.slice();
    badKey[2] = 4;
    decodeFails(() => ChannelOpenCodec.decode(badKey), 'BAD_VALUE');
    assert.throws(() => SettleHtlcCodec.encode({ ...settleReq, channelId: 'XY' }), (e: unknown) => EncodingError.is(e, 'BAD_VALUE'));
    assert.throws(() => AddHtlcCodec.encode({ ...added.message, payerSig: new Uint8Array(63) }), (e: unknown) => EncodingError.is(e, 'BAD_VALUE'));
  });
});
