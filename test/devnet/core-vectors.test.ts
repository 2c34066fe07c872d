// Bitcoin Core's tx_valid.json / tx_invalid.json through the devnet's own checks: the
// context-free rules (consensus.ts) and the bitcore bridge (script-check.ts). Known
// divergences of bitcore from Core are listed by case with the reason; any other
// disagreement fails. The vectors are copied into test/vectors/bitcoin-core/ (MIT, see its
// README) so a clone tests itself; their absence is a failure, not a skip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hexToBytes } from '@noble/hashes/utils.js';
import { checkTransaction } from '../../src/chain/devnet/consensus.ts';
import { FLAG_BITS, runScripts } from '../../src/chain/devnet/script-check.ts';
import { isCoinbase, parseTx } from '../../src/chain/devnet/tx.ts';
import { parseCoreScript } from './core-script-notation.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const vectorsDir = join(repoRoot, 'test', 'vectors', 'bitcoin-core');

type Case = [[string, number, string, number?][], string, string];

function load(name: string): { index: number; c: Case }[] {
  const path = join(vectorsDir, name);
  assert.ok(existsSync(path), `Bitcoin Core vectors missing at ${path}: the repository is incomplete`);
  const all = JSON.parse(readFileSync(path, 'utf8')) as unknown[];
  const cases: { index: number; c: Case }[] = [];
  all.forEach((e) => {
    if (Array.isArray(e) && Array.isArray(e[0])) cases.push({ index: cases.length, c: e as Case });
  });
  return cases;
}

/** Every flag Core's test knows except CLEANSTACK, which bitcore gets wrong for native segwit. */
const ALL_FLAGS = Object.entries(FLAG_BITS)
  .filter(([n]) => n !== 'CLEANSTACK')
  .reduce((a, [, b]) => a | b, 0);

function flagBits(list: string): number {
  if (list === 'NONE' || list === '') return 0;
  return list.split(',').reduce((acc, n) => {
    const bit = FLAG_BITS[n];
    if (bit === undefined) throw new Error(`unknown flag ${n}`);
    return acc | bit;
  }, 0);
}

/** Runs one case as the devnet would: context-free rules, then every input's script. */
function verdict(c: Case, flags: number): { valid: boolean; why?: string } {
  const [prevs, hex] = c;
  let tx;
  try {
    tx = parseTx(hexToBytes(hex));
    checkTransaction(tx);
  } catch (e) {
    return { valid: false, why: (e as Error).message };
  }
  // A coinbase's input script is never executed.
  if (isCoinbase(tx)) return { valid: true };
  const byOutpoint = new Map(prevs.map(([txid, vout, script, amount]) => [`${txid}:${vout === -1 ? 0xffffffff : vout}`, { script: parseCoreScript(script), value: amount ?? 0 }]));
  const prevouts = tx.inputs.map((i) => byOutpoint.get(`${i.txid}:${i.vout}`));
  if (prevouts.some((p) => !p)) return { valid: false, why: 'missing prevout' };
  const r = runScripts(tx.raw, tx.inputs, prevouts as { script: Uint8Array; value: number }[], flags);
  return r.ok ? { valid: true } : { valid: false, why: r.error };
}

/** Where bitcore 11.5.1 and Core disagree, by file and txid, with the reason (see the vectors' README). */
const FIND_AND_DELETE = 'bitcore does not remove the signature from a legacy scriptCode the way Core FindAndDelete does, so the sighash differs';
const BIP143_FIND_AND_DELETE = 'bitcore applies FindAndDelete to segwit v0 scriptCode; BIP143 (and Core) do not, so bitcore signs over a different digest';
const CONST_SCRIPTCODE = 'bitcore does not enforce CONST_SCRIPTCODE (a policy flag in Core) for signatures found inside the scriptCode';
const KNOWN: Record<string, string> = {
  'tx_valid.json:feeba255656c80c14db595736c1c7955c8c0a497622ec96e3f2238fbdd43a7c9:SIGPUSHONLY,CONST_SCRIPTCODE,CLEANSTACK': FIND_AND_DELETE,
  'tx_valid.json:a0c984fc820e57ddba97f8098fa640c8a7eb3fe2f583923da886b7660f505e1e:SIGPUSHONLY,CONST_SCRIPTCODE,LOW_S,CLEANSTACK': FIND_AND_DELETE,
  'tx_valid.json:d3230b80abeab3cf6c1c0f1c55c3694545146b1936348476bf3646276af83d38:NONE':
    'bitcore reads the tx version as signed int32, so 0xffffffff is -1 < 2 and CHECKSEQUENCEVERIFY fails; Core compares it as uint32 (>= 2, so the CSV check runs and passes)',
  'tx_valid.json:45d17fb7db86162b2b6ca29fa4e163acf0ef0b54110e49b819bda1f948d423a3:LOW_S': BIP143_FIND_AND_DELETE,
  'tx_invalid.json:45d17fb7db86162b2b6ca29fa4e163acf0ef0b54110e49b819bda1f948d423a3:P2SH,WITNESS': BIP143_FIND_AND_DELETE,
  'tx_invalid.json:a0c984fc820e57ddba97f8098fa640c8a7eb3fe2f583923da886b7660f505e1e:CONST_SCRIPTCODE': CONST_SCRIPTCODE,
  'tx_invalid.json:5df1375ffe61ac35ca178ebb0cab9ea26dedbd0e96005dfcee7e379fa513232f:P2SH,CONST_SCRIPTCODE': CONST_SCRIPTCODE,
  'tx_invalid.json:ded7ff51d89a4e1ec48162aee5a96447214d93dfb3837946af2301a28f65dbea:CONST_SCRIPTCODE': CONST_SCRIPTCODE,
};

function run(file: string, expectValid: boolean): { agree: number; total: number; unexpected: string[]; known: string[] } {
  const cases = load(file);
  const unexpected: string[] = [];
  const known: string[] = [];
  let agree = 0;
  for (const { index, c } of cases) {
    const flags = expectValid ? ALL_FLAGS & ~flagBits(c[2]) : c[2] === 'BADTX' ? 0 : flagBits(c[2]);
    const v = verdict(c, flags);
    if (v.valid === expectValid) {
      agree++;
      continue;
    }
    let id: string;
    try {
      id = `${file}:${parseTx(hexToBytes(c[1])).txid}:${c[2]}`;
    } catch {
      id = `${file}#${index}`;
    }
    if (KNOWN[id]) known.push(id);
    else unexpected.push(`${id} (case ${index}): ${v.why ?? 'accepted'}`);
  }
  return { agree, total: cases.length, unexpected, known };
}

test('Bitcoin Core tx_valid.json: agreement except the listed bitcore divergences', () => {
  const r = run('tx_valid.json', true);
  console.log(`tx_valid: ${r.agree} of ${r.total} agree; known divergences ${r.known.length}`);
  assert.deepEqual(r.unexpected, []);
  // Every listed divergence still happens: a fixed bitcore should shrink the list, not hide in it.
  assert.equal(r.known.length, 4);
  assert.equal(r.agree, r.total - 4);
});

test('Bitcoin Core tx_invalid.json: agreement except the listed bitcore divergences', () => {
  const r = run('tx_invalid.json', false);
  console.log(`tx_invalid: ${r.agree} of ${r.total} agree; known divergences ${r.known.length}`);
  assert.deepEqual(r.unexpected, []);
  assert.equal(r.known.length, 4);
  assert.equal(r.agree, r.total - 4);
});
