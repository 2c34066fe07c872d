/**
 * How a refused broadcast travels over Esplora's `POST /tx`.
 *
 * electrs answers a refusal with HTTP 400 and the text
 * `sendrawtransaction RPC error: {"code":-26,"message":"min relay fee not met, ..."}`
 * (bitcoind's RPC error, passed through). Our devnet server answers in that same shape
 * and puts the stable ChainError code first in the message:
 * `sendrawtransaction RPC error: {"code":-26,"message":"FEE_TOO_LOW: ..."}`, so a
 * generic Esplora client still reads a bitcoind-like reason and ours reads the code.
 * Against other servers the client falls back to recognising bitcoind's reject
 * reasons, and to BAD_REQUEST with the server's text when nothing matches.
 */
import { ChainError, type ChainErrorCode } from '../backend.ts';

const CODES: Record<ChainErrorCode, true> = {
  BAD_SIGNATURE: true,
  SCRIPT_FAILED: true,
  MISSING_INPUT: true,
  INPUT_SPENT: true,
  IMMATURE_COINBASE: true,
  LOCKTIME_NOT_REACHED: true,
  SEQUENCE_LOCK_NOT_REACHED: true,
  FEE_TOO_LOW: true,
  MALFORMED_TX: true,
  TX_TOO_LARGE: true,
  BLOCK_TOO_LARGE: true,
  BAD_BLOCK: true,
  DUPLICATE_TX: true,
  NON_STANDARD: true,
  NOT_FOUND: true,
  BACKEND_UNAVAILABLE: true,
  BAD_REQUEST: true,
};

export function isChainErrorCode(s: string): s is ChainErrorCode {
  return Object.hasOwn(CODES, s);
}

/** bitcoind's RPC error numbers (rpc/protocol.h), so generic clients see familiar values. */
function rpcCode(code: ChainErrorCode): number {
  switch (code) {
    case 'MALFORMED_TX':
      return -22; // RPC_DESERIALIZATION_ERROR
    case 'MISSING_INPUT':
      return -25; // RPC_VERIFY_ERROR
    case 'DUPLICATE_TX':
      return -27; // RPC_VERIFY_ALREADY_IN_CHAIN
    default:
      return -26; // RPC_VERIFY_REJECTED
  }
}

export function formatRejection(err: ChainError): string {
  return `sendrawtransaction RPC error: ${JSON.stringify({ code: rpcCode(err.code), message: `${err.code}: ${err.message}` })}`;
}

/**
 * bitcoind reject reasons (validation.cpp, policy.cpp) that map onto our codes; the
 * first match wins, so the more specific reasons come first.
 */
const BITCOIND_REASONS: ReadonlyArray<readonly [RegExp, ChainErrorCode]> = [
  [/min relay fee not met|mempool min fee not met|insufficient fee|min-fee-not-met/i, 'FEE_TOO_LOW'],
  [/bad-txns-inputs-missingorspent|missing-?inputs/i, 'MISSING_INPUT'],
  [/txn-mempool-conflict|bad-txns-spends-conflicting-tx/i, 'INPUT_SPENT'],
  [/premature-spend-of-coinbase/i, 'IMMATURE_COINBASE'],
  [/non-BIP68-final/i, 'SEQUENCE_LOCK_NOT_REACHED'],
  [/non-final/i, 'LOCKTIME_NOT_REACHED'],
  [/script-verify-flag-failed.*signature/i, 'BAD_SIGNATURE'],
  [/script-verify-flag-failed/i, 'SCRIPT_FAILED'],
  [/txn-already-in-mempool|txn-already-known|already in block chain|outputs already in utxo set/i, 'DUPLICATE_TX'],
  [/TX decode failed|invalid hex|deserializ/i, 'MALFORMED_TX'],
  [/tx-size|bad-txns-oversize/i, 'TX_TOO_LARGE'],
  [/dust|scriptpubkey|bare-multisig|multi-op-return|scriptsig-not-pushonly|scriptsig-size|non-standard/i, 'NON_STANDARD'],
];

/** Turns a `POST /tx` refusal (status and body text) back into a ChainError. */
export function parseRejection(status: number, text: string): ChainError {
  let message = text.trim();
  const rpc = /RPC error:\s*(\{.*\})\s*$/s.exec(message);
  if (rpc) {
    try {
      const parsed = JSON.parse(rpc[1]!) as { message?: unknown };
      if (typeof parsed.message === 'string') message = parsed.message;
    } catch {
      // not JSON after all: keep the whole text as the reason
    }
  }
  const tagged = /^([A-Z_]+): (.*)$/s.exec(message);
  if (tagged && isChainErrorCode(tagged[1]!)) return new ChainError(tagged[1], tagged[2]!);
  for (const [pattern, code] of BITCOIND_REASONS) {
    if (pattern.test(message)) return new ChainError(code, message);
  }
  return new ChainError('BAD_REQUEST', `server refused the transaction (HTTP ${status}): ${message}`);
}
