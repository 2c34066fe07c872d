import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { hex } from '@scure/base';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  buildContractScript, contractAddress, contractScriptPubKey, parseContractScript,
} from '../../src/contracts/script.ts';
import type { ContractTerms } from '../../src/contracts/script.ts';
import { ContractError } from '../../src/contracts/errors.ts';
import { checkQuoteLocktime, dustThreshold } from '../../src/contracts/validate.ts';
import { NETWORKS } from '../../src/core/network.ts';
import * as h from './helpers.ts';

interface Vectors {
  valid: { mode: ContractTerms['mode']; hk: string; hr?: string; relayPubkey: string; payerPubkey: string; locktime: number; script: string; scriptPubKey: string; addressRegtest: string; addressMainnet: string; description: string }[];
  invalidScripts: { description: string; script: string; error: string }[];
  invalidTerms: { description: string; terms: Record<string, unknown>; error: string }[];
  locktimes: { description: string; locktime: number; tip: number; margins: { claimMargin: number; fetchMargin: number; maxBlocksAhead?: number }; error?: string }[];
}
const V = JSON.parse(readFileSync(new URL('../vectors/contracts.json', import.meta.url), 'utf8')) as Vectors;

const termsOf = (v: Record<string, unknown>): ContractTerms => {
  const t: Record<string, unknown> = { mode: v.mode, locktime: v.locktime };
  for (const k of ['hk', 'hr', 'relayPubkey', 'payerPubkey']) if (v[k] !== undefined) t[k] = typeof v[k] === 'string' ? hex.decode(v[k]) : v[k];
  return t as unknown as ContractTerms;
};
const throwsCode = (fn: () => unknown, code: string) =>
  assert.throws(fn, (e: unknown) => ContractError.is(e) && e.code === code, `expected ContractError ${code}`);

describe('contract script', () => {
  it('assembles the sender-pays template byte for byte as the protocol writes it', () => {
    const { terms } = h.terms('sender-pays', 0, 850000);
    const push = (b: Uint8Array) => hex.encode(Uint8Array.of(b.length)) + hex.encode(b);
    const line = (hash: Uint8Array) => '82' + '0120' + '88' + 'a8' + push(hash) + '88'; // SIZE 32 EQUALVERIFY SHA256 <h> EQUALVERIFY
    const expectedHex =
      '63' + line(terms.hk) + line(terms.hr!) + push(terms.relayPubkey) + // IF ... <relay>
      '67' + '0350f80c' + 'b1' + '75' + push(terms.payerPubkey) + // ELSE <850000> CLTV DROP <payer>
      '68' + 'ac'; // ENDIF CHECKSIG
    assert.equal(hex.encode(buildContractScript(terms)), expectedHex);
    const rp = { ...terms, mode: 'recipient-pays' as const, hr: undefined };
    delete rp.hr;
    assert.equal(hex.encode(buildContractScript(rp)), expectedHex.replace(line(terms.hr!), ''));
  });

  for (const v of V.valid) {
    it(`vector: ${v.description}`, () => {
      const terms = termsOf(v);
      const script = buildContractScript(terms);
      assert.equal(hex.encode(script), v.script);
      assert.equal(hex.encode(contractScriptPubKey(script)), v.scriptPubKey);
      assert.equal(hex.encode(contractScriptPubKey(script)), '0020' + hex.encode(sha256(script)));
      assert.equal(contractAddress(script, NETWORKS.regtest), v.addressRegtest);
      assert.equal(contractAddress(script, NETWORKS.mainnet), v.addressMainnet);
      const back = parseContractScript(hex.decode(v.script));
      assert.deepEqual(back, terms);
    });
  }

  for (const v of V.invalidScripts) {
    it(`rejects script: ${v.description}`, () => throwsCode(() => parseContractScript(hex.decode(v.script)), v.error));
  }

  for (const v of V.invalidTerms) {
    it(`rejects terms: ${v.description}`, () => throwsCode(() => buildContractScript(termsOf(v.terms)), v.error));
  }

  it('parse(build(terms)) = terms for arbitrary valid terms (property)', () => {
    const keys = [h.RELAY, h.PAYER, h.WALLET, h.OTHER].map(h.pub);
    fc.assert(
      fc.property(
        fc.boolean(), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.nat(3), fc.nat(3), fc.integer({ min: 0, max: 499_999_999 }),
        (sender, hk, hr, a, b, locktime) => {
          const t: ContractTerms = { mode: sender ? 'sender-pays' : 'recipient-pays', hk, relayPubkey: keys[a]!, payerPubkey: keys[b]!, locktime };
          if (sender) t.hr = hr;
          assert.deepEqual(parseContractScript(buildContractScript(t)), t);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('any single-byte change to a contract is either rejected or yields other terms (property)', () => {
    const script = buildContractScript(h.terms('sender-pays', 0, 850000).terms);
    const orig = parseContractScript(script);
    fc.assert(
      fc.property(fc.nat(script.length - 1), fc.integer({ min: 1, max: 255 }), (pos, delta) => {
        const s = script.slice();
        s[pos] = (s[pos]! + delta) & 0xff;
        let t: ContractTerms;
        try {
          t = parseContractScript(s);
        } catch (e) {
          assert.ok(ContractError.is(e, 'NOT_A_CONTRACT'));
          return;
        }
        assert.notDeepEqual(t, orig);
        assert.deepEqual(buildContractScript(t), s);
      }),
      { numRuns: 500 },
    );
  });

  it('rejects a non-byte script', () => throwsCode(() => parseContractScript('00' as unknown as Uint8Array), 'NOT_A_CONTRACT'));
});

describe('quote locktime and dust rules', () => {
  for (const v of V.locktimes) {
    it(`locktime vector: ${v.description}`, () => {
      if (v.error) throwsCode(() => checkQuoteLocktime(v.locktime, v.tip, v.margins), v.error);
      else checkQuoteLocktime(v.locktime, v.tip, v.margins);
    });
  }

  it('dust thresholds match Bitcoin Core at 3 sat/vB', () => {
    assert.equal(dustThreshold(contractScriptPubKey(buildContractScript(h.terms('recipient-pays').terms))), 330);
    assert.equal(dustThreshold(h.WALLET_SCRIPT), 294);
    assert.equal(dustThreshold(hex.decode('5120' + '11'.repeat(32))), 330); // P2TR
    assert.equal(dustThreshold(hex.decode('76a914' + '11'.repeat(20) + '88ac')), 546); // P2PKH
    assert.equal(dustThreshold(hex.decode('a914' + '11'.repeat(20) + '87')), 540); // P2SH
  });
});
