import { SatpostError } from '../core/errors.ts';

export type WalletErrorCode =
  | 'INSUFFICIENT_FUNDS'
  | 'DUST_OUTPUT'
  | 'BAD_AMOUNT'
  | 'BAD_ADDRESS'
  | 'BAD_MNEMONIC'
  | 'BAD_INDEX'
  | 'BAD_FEE_RATE'
  | 'FEE_RATE_TOO_HIGH'
  | 'WRONG_PASSPHRASE'
  | 'NO_PASSPHRASE'
  | 'NETWORK_MISMATCH'
  | 'WALLET_EXISTS'
  | 'NO_WALLET'
  | 'WALLET_CLOSED'
  | 'NO_BACKEND'
  | 'UNKNOWN_TX'
  | 'UNKNOWN_OUTPOINT'
  | 'BROADCAST_FAILED'
  | 'CORRUPT_WALLET';

/** Every refusal of the wallet, with a stable code (see docs/wallet.md). */
export class WalletError extends SatpostError<WalletErrorCode> {}
