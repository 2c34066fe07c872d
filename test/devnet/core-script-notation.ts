// Bitcoin Core's test notation for scripts (core_read.cpp ParseScript), for the vectors.
import { OP, ScriptNum } from '@scure/btc-signer';
import { concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';

const OPCODES = new Map<string, number>();
for (const [name, code] of Object.entries(OP)) if (typeof code === 'number') OPCODES.set(name.replace(/^OP_/, ''), code);
OPCODES.set('NOP2', OP.CHECKLOCKTIMEVERIFY);
OPCODES.set('NOP3', OP.CHECKSEQUENCEVERIFY);
OPCODES.set('FALSE', 0x00);
OPCODES.set('TRUE', 0x51);

function push(data: Uint8Array): Uint8Array {
  const n = data.length;
  if (n < 0x4c) return concatBytes(new Uint8Array([n]), data);
  if (n <= 0xff) return concatBytes(new Uint8Array([0x4c, n]), data);
  if (n <= 0xffff) return concatBytes(new Uint8Array([0x4d, n & 0xff, n >> 8]), data);
  return concatBytes(new Uint8Array([0x4e, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24]), data);
}

export function parseCoreScript(text: string): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const w of text.split(/\s+/).filter(Boolean)) {
    if (/^-?\d+$/.test(w)) {
      const n = BigInt(w);
      if (n === 0n) parts.push(new Uint8Array([0x00]));
      else if (n === -1n) parts.push(new Uint8Array([0x4f]));
      else if (n >= 1n && n <= 16n) parts.push(new Uint8Array([0x50 + Number(n)]));
      else parts.push(push(ScriptNum(8).encode(n)));
    } else if (w.startsWith('0x') && /^0x([0-9a-fA-F]{2})+$/.test(w)) {
      parts.push(hexToBytes(w.slice(2).toLowerCase()));
    } else if (w.length >= 2 && w.startsWith("'") && w.endsWith("'")) {
      const data = utf8ToBytes(w.slice(1, -1));
      parts.push(data.length === 0 ? new Uint8Array([0x00]) : push(data));
    } else {
      const code = OPCODES.get(w.replace(/^OP_/, ''));
      if (code === undefined) throw new Error(`unknown token in Core script: ${w}`);
      parts.push(new Uint8Array([code]));
    }
  }
  return concatBytes(...parts);
}
