/**
 * Script disassembly as Esplora prints it (the `*_asm` fields): electrs renders scripts
 * with rust-bitcoin's `fmt_asm`, so opcodes carry rust-bitcoin's names (OP_0,
 * OP_PUSHBYTES_20, OP_PUSHNUM_1, OP_CLTV, OP_RETURN_187 ...) and pushed data follows its
 * push opcode as lowercase hex:
 *
 *   0014<20 bytes>  ->  "OP_0 OP_PUSHBYTES_20 <hex>"
 *
 * A push running past the end of the script prints "<push past end>" and a truncated
 * OP_PUSHDATA length "<unexpected end>", and disassembly stops there, as in rust-bitcoin.
 * Pure: no I/O.
 */
import { hex } from '@scure/base';

const OP_PUSHDATA1 = 0x4c;
const OP_PUSHDATA2 = 0x4d;
const OP_PUSHDATA4 = 0x4e;

const NAMED: Readonly<Record<number, string>> = {
  0x4c: 'OP_PUSHDATA1', 0x4d: 'OP_PUSHDATA2', 0x4e: 'OP_PUSHDATA4', 0x4f: 'OP_PUSHNUM_NEG1', 0x50: 'OP_RESERVED',
  0x61: 'OP_NOP', 0x62: 'OP_VER', 0x63: 'OP_IF', 0x64: 'OP_NOTIF', 0x65: 'OP_VERIF', 0x66: 'OP_VERNOTIF', 0x67: 'OP_ELSE',
  0x68: 'OP_ENDIF', 0x69: 'OP_VERIFY', 0x6a: 'OP_RETURN', 0x6b: 'OP_TOALTSTACK', 0x6c: 'OP_FROMALTSTACK', 0x6d: 'OP_2DROP',
  0x6e: 'OP_2DUP', 0x6f: 'OP_3DUP', 0x70: 'OP_2OVER', 0x71: 'OP_2ROT', 0x72: 'OP_2SWAP', 0x73: 'OP_IFDUP', 0x74: 'OP_DEPTH',
  0x75: 'OP_DROP', 0x76: 'OP_DUP', 0x77: 'OP_NIP', 0x78: 'OP_OVER', 0x79: 'OP_PICK', 0x7a: 'OP_ROLL', 0x7b: 'OP_ROT',
  0x7c: 'OP_SWAP', 0x7d: 'OP_TUCK', 0x7e: 'OP_CAT', 0x7f: 'OP_SUBSTR', 0x80: 'OP_LEFT', 0x81: 'OP_RIGHT', 0x82: 'OP_SIZE',
  0x83: 'OP_INVERT', 0x84: 'OP_AND', 0x85: 'OP_OR', 0x86: 'OP_XOR', 0x87: 'OP_EQUAL', 0x88: 'OP_EQUALVERIFY',
  0x89: 'OP_RESERVED1', 0x8a: 'OP_RESERVED2', 0x8b: 'OP_1ADD', 0x8c: 'OP_1SUB', 0x8d: 'OP_2MUL', 0x8e: 'OP_2DIV',
  0x8f: 'OP_NEGATE', 0x90: 'OP_ABS', 0x91: 'OP_NOT', 0x92: 'OP_0NOTEQUAL', 0x93: 'OP_ADD', 0x94: 'OP_SUB', 0x95: 'OP_MUL',
  0x96: 'OP_DIV', 0x97: 'OP_MOD', 0x98: 'OP_LSHIFT', 0x99: 'OP_RSHIFT', 0x9a: 'OP_BOOLAND', 0x9b: 'OP_BOOLOR',
  0x9c: 'OP_NUMEQUAL', 0x9d: 'OP_NUMEQUALVERIFY', 0x9e: 'OP_NUMNOTEQUAL', 0x9f: 'OP_LESSTHAN', 0xa0: 'OP_GREATERTHAN',
  0xa1: 'OP_LESSTHANOREQUAL', 0xa2: 'OP_GREATERTHANOREQUAL', 0xa3: 'OP_MIN', 0xa4: 'OP_MAX', 0xa5: 'OP_WITHIN',
  0xa6: 'OP_RIPEMD160', 0xa7: 'OP_SHA1', 0xa8: 'OP_SHA256', 0xa9: 'OP_HASH160', 0xaa: 'OP_HASH256',
  0xab: 'OP_CODESEPARATOR', 0xac: 'OP_CHECKSIG', 0xad: 'OP_CHECKSIGVERIFY', 0xae: 'OP_CHECKMULTISIG',
  0xaf: 'OP_CHECKMULTISIGVERIFY', 0xb0: 'OP_NOP1', 0xb1: 'OP_CLTV', 0xb2: 'OP_CSV', 0xb3: 'OP_NOP4', 0xb4: 'OP_NOP5',
  0xb5: 'OP_NOP6', 0xb6: 'OP_NOP7', 0xb7: 'OP_NOP8', 0xb8: 'OP_NOP9', 0xb9: 'OP_NOP10', 0xba: 'OP_CHECKSIGADD',
  0xff: 'OP_INVALIDOPCODE',
};

/** rust-bitcoin's name for one opcode byte. */
export function opcodeName(op: number): string {
  if (!Number.isInteger(op) || op < 0 || op > 0xff) throw new RangeError(`opcode expected a byte, got ${op}`);
  if (op === 0) return 'OP_0';
  if (op <= 0x4b) return `OP_PUSHBYTES_${op}`;
  if (op >= 0x51 && op <= 0x60) return `OP_PUSHNUM_${op - 0x50}`;
  if (op >= 0xbb && op <= 0xfe) return `OP_RETURN_${op}`;
  return NAMED[op]!;
}

export interface Instruction {
  op: number;
  /** The pushed bytes, for push opcodes (0x00-0x4e). */
  data?: Uint8Array;
}

export interface ParsedScript {
  instructions: Instruction[];
  /** Set when the script ends inside a push: how rust-bitcoin marks it. */
  error?: '<push past end>' | '<unexpected end>';
}

/** Splits a script into opcodes and pushes, stopping at the first truncated push. */
export function parseScript(script: Uint8Array): ParsedScript {
  const instructions: Instruction[] = [];
  let i = 0;
  while (i < script.length) {
    const op = script[i++]!;
    let len = 0;
    if (op <= 0x4b) len = op;
    else if (op === OP_PUSHDATA1 || op === OP_PUSHDATA2 || op === OP_PUSHDATA4) {
      const size = op === OP_PUSHDATA1 ? 1 : op === OP_PUSHDATA2 ? 2 : 4;
      if (i + size > script.length) return { instructions, error: '<unexpected end>' };
      for (let b = size - 1; b >= 0; b--) len = len * 256 + script[i + b]!;
      i += size;
    } else {
      instructions.push({ op });
      continue;
    }
    if (i + len > script.length) {
      instructions.push({ op });
      return { instructions, error: '<push past end>' };
    }
    instructions.push({ op, data: script.subarray(i, i + len) });
    i += len;
  }
  return { instructions };
}

/** The script as Esplora's `scriptpubkey_asm` / `scriptsig_asm` show it; "" for an empty script. */
export function scriptAsm(script: Uint8Array): string {
  const { instructions, error } = parseScript(script);
  const parts: string[] = [];
  for (const [n, ins] of instructions.entries()) {
    const last = n === instructions.length - 1;
    let text = opcodeName(ins.op);
    if (ins.data !== undefined && ins.data.length > 0) text += ` ${hex.encode(ins.data)}`;
    else if (last && error === '<push past end>') text += ` ${error}`;
    parts.push(text);
  }
  const asm = parts.join(' ');
  // rust-bitcoin writes a truncated length marker straight after the previous token.
  return error === '<unexpected end>' ? asm + error : asm;
}
