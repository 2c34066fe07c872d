// Property tests: any sequence of valid add / settle / fail keeps the relay's balance
// non-decreasing, both sides in the same state, and capacity = relay + payer + in flight + fee;
// any invalid step is refused without changing either side.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChannelError } from '../../src/channels/errors.ts';
import { commitment } from '../../src/channels/commitment.ts';
import { acceptAdd, payerBalance, proposeAdd, proposeFail, requestSettle } from '../../src/channels/state.ts';
import { AddHtlcCodec } from '../../src/channels/messages.ts';
import * as c from './helpers.ts';

const { h } = c;
const TIP = 100;

type Op =
  | { kind: 'add'; mode: 'sender-pays' | 'recipient-pays'; amount: number; locktime: number }
  | { kind: 'settle'; pick: number; wrongK: boolean }
  | { kind: 'fail'; pick: number; early: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('add' as const), mode: fc.constantFrom('sender-pays' as const, 'recipient-pays' as const), amount: fc.integer({ min: 200, max: 400_000 }), locktime: fc.integer({ min: 100, max: 1_000 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('settle' as const), pick: fc.nat(), wrongK: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('fail' as const), pick: fc.nat(), early: fc.boolean() }) },
);

describe('channel state properties', () => {
  it('valid steps keep the invariants; invalid ones change nothing', (t) => {
    const done = { add: 0, settle: 0, fail: 0, refused: 0 };
    fc.assert(fc.property(fc.array(op, { minLength: 1, maxLength: 14 }), fc.nat(), (ops, seed) => {
      let p: c.Pair = c.openBoth({ capacity: 1_000_000 });
      const secrets = new Map<number, { k: Uint8Array; r?: Uint8Array }>();
      let counter = 0;
      for (const o of ops) {
        const before = structuredClone(p);
        const prevRelay = p.relay.relayBalance;
        try {
          if (o.kind === 'add') {
            const x = c.htlcFor(seed * 1000 + counter++, o.mode, o.locktime, o.amount);
            const a = c.add(p, x.terms, TIP);
            secrets.set(a.id, x);
            p = { payer: a.payer, relay: a.relay };
          } else if (o.kind === 'settle') {
            const htlc = p.relay.inFlight[o.pick % Math.max(1, p.relay.inFlight.length)];
            const sec = htlc ? secrets.get(htlc.id)! : { k: h.secret('none') };
            p = c.settle(p, htlc?.id ?? 999, o.wrongK ? h.secret('wrong') : sec.k, sec.r);
          } else {
            const htlc = p.relay.inFlight[o.pick % Math.max(1, p.relay.inFlight.length)];
            const tip = htlc ? htlc.locktime - p.relay.claimMargin - (o.early ? 1 : 0) : TIP;
            p = c.failHtlc(p, htlc?.id ?? 999, tip);
          }
        } catch (e) {
          if (!ChannelError.is(e)) throw e;
          assert.ok(['DUST_HTLC', 'HTLC_EXPIRY_TOO_SOON', 'HTLC_EXPIRY_TOO_LATE', 'INSUFFICIENT_CAPACITY', 'PREIMAGE_MISMATCH', 'UNKNOWN_HTLC', 'FAIL_TOO_EARLY'].includes(e.code), e.code);
          assert.deepEqual(p, before, `refused ${o.kind} (${e.code}) changed nothing`);
          done.refused++;
          continue;
        }
        done[o.kind]++;
        assert.deepEqual(p.relay, p.payer);
        assert.ok(p.relay.relayBalance >= prevRelay, 'relay balance never decreases');
        const inFlight = p.relay.inFlight.reduce((a, x) => a + x.amount, 0);
        assert.equal(p.relay.relayBalance + payerBalance(p.relay) + inFlight, p.relay.capacity);
        const lay = commitment(p.relay, p.relay.relayBalance, p.relay.inFlight).layout;
        const payerOut = lay.outputs.find((x) => x.kind === 'payer')?.amount ?? 0;
        const relayOut = lay.outputs.find((x) => x.kind === 'relay')?.amount ?? 0;
        assert.equal(relayOut + payerOut + inFlight + lay.fee, p.relay.capacity);
        assert.ok(relayOut === p.relay.relayBalance || (relayOut === 0 && p.relay.relayBalance < 294));
      }
    }), { numRuns: 30 });
    t.diagnostic(`steps: ${JSON.stringify(done)}`);
    for (const [k, v] of Object.entries(done)) assert.ok(v > 0, `the runs exercised ${k} (${v})`);
  });

  it('any one-byte change to a signed AddHtlc is refused: it does not decode, or the relay rejects it', () => {
    const b = c.openBoth();
    const x = c.htlcFor(1, 'sender-pays', 500, 10_000);
    const { message } = proposeAdd(b.payer, x.terms, { tip: TIP, payerPrivkey: h.PAYER });
    const wire = AddHtlcCodec.encode(message);
    assert.deepEqual(AddHtlcCodec.decode(wire), { ...message, htlc: { ...message.htlc } });
    fc.assert(fc.property(fc.nat({ max: wire.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, xor) => {
      const bad = wire.slice();
      bad[i] = bad[i]! ^ xor;
      let decoded;
      try {
        decoded = AddHtlcCodec.decode(bad);
      } catch {
        return;
      }
      assert.throws(() => acceptAdd(b.relay, decoded, { tip: TIP }), (e: unknown) => ChannelError.is(e));
    }), { numRuns: 150 });
  });

  it('a refused fail or settle leaves both sides where they were', () => {
    const x = c.htlcFor(1, 'recipient-pays', 500, 10_000);
    const p = c.add(c.openBoth(), x.terms, TIP);
    const snap = structuredClone(p.payer);
    assert.throws(() => proposeFail(p.payer, 0, { tip: 400, payerPrivkey: h.PAYER }), (e: unknown) => ChannelError.is(e, 'FAIL_TOO_EARLY'));
    assert.throws(() => requestSettle(p.relay, 0, x.k, x.k), (e: unknown) => ChannelError.is(e, 'PREIMAGE_MISMATCH'));
    assert.deepEqual(p.payer, snap);
  });
});
