import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  isFinal, PAYER_STATES, payerEvents, payerTransition, RELAY_STATES, relayEvents, relayTransition,
} from '../../src/contracts/state.ts';
import type { PayerEvent, RelayEvent, RelayState } from '../../src/contracts/state.ts';
import { ContractError } from '../../src/contracts/errors.ts';

const bad = (fn: () => unknown) => assert.throws(fn, (e: unknown) => ContractError.is(e, 'BAD_TRANSITION'));

describe('contract state machines', () => {
  it('relay happy path: quoted → funded → confirmed → claim signed → broadcast → claimed', () => {
    let s: RelayState = 'quoted';
    for (const e of ['funding-seen', 'funding-confirmed', 'claim-signed', 'claim-broadcast', 'claim-confirmed'] as RelayEvent[]) s = relayTransition(s, e);
    assert.equal(s, 'claimed');
    assert.ok(isFinal(s));
  });

  it('the relay cannot sign a claim on an unconfirmed funding, nor act after expiry', () => {
    bad(() => relayTransition('funded', 'claim-signed'));
    bad(() => relayTransition('quoted', 'claim-signed'));
    for (const e of ['funding-seen', 'claim-signed', 'claim-confirmed'] as RelayEvent[]) bad(() => relayTransition('expired', e));
    bad(() => relayTransition('bogus' as RelayState, 'funding-seen'));
    bad(() => relayTransition('quoted', 'toString' as RelayEvent));
  });

  it('a reorg re-opens a claimed contract; a refund ends it', () => {
    assert.equal(relayTransition('claimed', 'claim-lost'), 'claim-signed');
    assert.equal(relayTransition('claim-broadcast', 'refunded'), 'expired');
    assert.equal(relayTransition('funded', 'funding-lost'), 'quoted');
  });

  it('payer paths: claim seen keeps funded until confirmed; refund after T', () => {
    let s = payerTransition('created', 'funding-signed');
    s = payerTransition(payerTransition(s, 'funding-broadcast'), 'funding-confirmed');
    assert.equal(payerTransition(s, 'claim-seen'), 'funded');
    assert.equal(payerTransition(s, 'claim-confirmed'), 'claimed');
    assert.equal(payerTransition(payerTransition(s, 'refund-broadcast'), 'refund-confirmed'), 'refunded');
    assert.equal(payerTransition('refund-broadcast', 'claim-confirmed'), 'claimed', 'the relay claimed first');
    bad(() => payerTransition('created', 'funding-broadcast'));
    bad(() => payerTransition('abandoned', 'funding-broadcast'));
  });

  it('every reachable transition lands on a known state, and final-and-closed states accept nothing (property)', () => {
    const relayAll = [...new Set(RELAY_STATES.flatMap(relayEvents))];
    const payerAll = [...new Set(PAYER_STATES.flatMap(payerEvents))];
    fc.assert(
      fc.property(fc.array(fc.nat(100), { maxLength: 30 }), fc.array(fc.nat(100), { maxLength: 30 }), (re, pe) => {
        let r: RelayState = 'quoted';
        for (const i of re) {
          const e = relayAll[i % relayAll.length]!;
          if (relayEvents(r).includes(e)) r = relayTransition(r, e);
          else bad(() => relayTransition(r, e));
          assert.ok(RELAY_STATES.includes(r));
        }
        let p = PAYER_STATES[0]!;
        for (const i of pe) {
          const e: PayerEvent = payerAll[i % payerAll.length]!;
          if (payerEvents(p).includes(e)) p = payerTransition(p, e);
          else bad(() => payerTransition(p, e));
          assert.ok(PAYER_STATES.includes(p));
        }
      }),
    );
    assert.deepEqual(relayEvents('expired'), []);
    assert.deepEqual(payerEvents('abandoned'), []);
    assert.deepEqual(RELAY_STATES.filter((s) => isFinal(s)).sort(), ['claimed', 'expired']);
    assert.deepEqual(PAYER_STATES.filter((s) => isFinal(s)).sort(), ['abandoned', 'claimed', 'refunded']);
  });
});
