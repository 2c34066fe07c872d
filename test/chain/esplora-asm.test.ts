// Script disassembly in Esplora's notation (electrs prints scripts with rust-bitcoin's
// fmt_asm): opcode names, push rendering, truncated scripts, and the inner scripts
// electrs shows for P2SH and P2WSH spends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hex } from '@scure/base';
import { opcodeName, scriptAsm } from '../../src/chain/esplora/asm.ts';
import { innerScripts } from '../../src/chain/esplora/render.ts';

const asm = (h: string) => scriptAsm(hex.decode(h));

// A 2-of-3 P2SH multisig spend as a public Esplora server shows it (Esplora API docs example).
const MULTISIG_REDEEM =
  '5221027f2a0df8e86535d08ca3e766a178f90c813d2dd1d55b0166e82518efbffb18c02103556a35844b517e2fc8216701e2e0a64dbcbe62ad420ac6dd73dc79e69efeb69521031ef21bd55171032b7aec21ec82932735fb986f1d4d8611feee62ab38acf4a6bb53ae';
const SIG1 = '304502210099219ee0cd5da341650078e3c63885b3cc2211069f2551cf436e0100f421e1760220349b4ec284255b458d6da539fa17314e8330459e0a653c254f775d4ec8f32b3f01';
const SIG2 = '304402203a8353c5ee76a2e266432e5f993f882e05725297e64c0833cf44719f7dda8d3b022058a2f72e7739efd21657b4943cac60a0a3c749e712787f0e85726da4c3adcf8e01';
const MULTISIG_SCRIPTSIG = `0048${SIG1}47${SIG2}4c69${MULTISIG_REDEEM}`;

test('standard scripts disassemble as Esplora prints them', () => {
  assert.equal(asm('a914c9848245ae4f5d5934b5cbdfb79e04cdd337470b87'), 'OP_HASH160 OP_PUSHBYTES_20 c9848245ae4f5d5934b5cbdfb79e04cdd337470b OP_EQUAL');
  assert.equal(asm(MULTISIG_SCRIPTSIG), `OP_0 OP_PUSHBYTES_72 ${SIG1} OP_PUSHBYTES_71 ${SIG2} OP_PUSHDATA1 ${MULTISIG_REDEEM}`);
  const h20 = '11'.repeat(20);
  assert.equal(asm(`76a914${h20}88ac`), `OP_DUP OP_HASH160 OP_PUSHBYTES_20 ${h20} OP_EQUALVERIFY OP_CHECKSIG`);
  assert.equal(asm(`0014${h20}`), `OP_0 OP_PUSHBYTES_20 ${h20}`);
  assert.equal(asm(`5120${'22'.repeat(32)}`), `OP_PUSHNUM_1 OP_PUSHBYTES_32 ${'22'.repeat(32)}`);
  assert.equal(asm('6a'), 'OP_RETURN');
  assert.equal(asm(''), '');
});

test('opcode names follow rust-bitcoin, one distinct name per byte', () => {
  assert.equal(asm('4f50516061'), 'OP_PUSHNUM_NEG1 OP_RESERVED OP_PUSHNUM_1 OP_PUSHNUM_16 OP_NOP');
  assert.equal(asm('b0b1b2b3b9babbfeff'), 'OP_NOP1 OP_CLTV OP_CSV OP_NOP4 OP_NOP10 OP_CHECKSIGADD OP_RETURN_187 OP_RETURN_254 OP_INVALIDOPCODE');
  assert.equal(asm('7e7f808182838485868788898a'), 'OP_CAT OP_SUBSTR OP_LEFT OP_RIGHT OP_SIZE OP_INVERT OP_AND OP_OR OP_XOR OP_EQUAL OP_EQUALVERIFY OP_RESERVED1 OP_RESERVED2');
  const names = Array.from({ length: 256 }, (_, op) => opcodeName(op));
  assert.equal(new Set(names).size, 256);
  for (const n of names) assert.match(n, /^OP_[0-9A-Z_]+$/);
  assert.throws(() => opcodeName(256), RangeError);
  assert.throws(() => opcodeName(-1), RangeError);
});

test('pushes: PUSHDATA1/2/4 lengths are little-endian; empty pushes show no data', () => {
  assert.equal(asm('00'), 'OP_0');
  assert.equal(asm('4c00'), 'OP_PUSHDATA1');
  assert.equal(asm('4c02abcd'), 'OP_PUSHDATA1 abcd');
  assert.equal(asm('4d0100ff'), 'OP_PUSHDATA2 ff');
  assert.equal(asm('4e02000000beef51'), 'OP_PUSHDATA4 beef OP_PUSHNUM_1');
});

test('truncated scripts end with rust-bitcoin\'s markers', () => {
  assert.equal(asm('761401'), 'OP_DUP OP_PUSHBYTES_20 <push past end>');
  assert.equal(asm('4c05abcd'), 'OP_PUSHDATA1 <push past end>');
  assert.equal(asm('764d01'), 'OP_DUP<unexpected end>');
  assert.equal(asm('4e'), '<unexpected end>');
});

test('inner scripts: the redeemScript of a P2SH spend, the witnessScript of P2WSH and P2SH-P2WSH', () => {
  const p2sh = hex.decode('a914c9848245ae4f5d5934b5cbdfb79e04cdd337470b87');
  const multisig = innerScripts(hex.decode(MULTISIG_SCRIPTSIG), undefined, p2sh);
  assert.equal(hex.encode(multisig.redeem!), MULTISIG_REDEEM);
  assert.equal(multisig.witness, undefined);
  assert.equal(scriptAsm(multisig.redeem!), `OP_PUSHNUM_2 OP_PUSHBYTES_33 ${MULTISIG_REDEEM.slice(4, 70)} OP_PUSHBYTES_33 ${MULTISIG_REDEEM.slice(72, 138)} OP_PUSHBYTES_33 ${MULTISIG_REDEEM.slice(140, 206)} OP_PUSHNUM_3 OP_CHECKMULTISIG`);

  const ws = hex.decode(`21${'02'.repeat(33)}ac`);
  const p2wsh = hex.decode(`0020${'33'.repeat(32)}`);
  assert.deepEqual(innerScripts(new Uint8Array(0), [hex.decode('30'), ws], p2wsh), { witness: ws });
  const nested = innerScripts(hex.decode(`22${hex.encode(p2wsh)}`), [hex.decode('30'), ws], p2sh);
  assert.deepEqual(nested, { redeem: p2wsh, witness: ws });
  // P2WPKH and P2SH-P2WPKH show no witnessScript; a scriptSig that is no push shows no redeemScript.
  assert.deepEqual(innerScripts(new Uint8Array(0), [hex.decode('30'), hex.decode('02'.repeat(33))], hex.decode(`0014${'11'.repeat(20)}`)), {});
  assert.deepEqual(innerScripts(hex.decode(`160014${'11'.repeat(20)}`), [hex.decode('30')], p2sh), {
    redeem: hex.decode(`0014${'11'.repeat(20)}`),
  });
  assert.deepEqual(innerScripts(hex.decode('51'), undefined, p2sh), {});
  assert.deepEqual(innerScripts(hex.decode('4c05ab'), undefined, p2sh), {}, 'truncated scriptSig');
});
