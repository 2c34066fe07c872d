// Public surface of the wallet for the contract layer, relay, client and CLI.
export { Wallet, DEFAULT_GAP_LIMIT, COINBASE_MATURITY } from './wallet.ts';
export type {
  Balance,
  CreateTransactionRequest,
  CreatedTransaction,
  HistoryEntry,
  TxOutputRequest,
  WalletCreateOptions,
  WalletOpenOptions,
} from './wallet.ts';
export { WalletError, type WalletErrorCode } from './errors.ts';
export { addressToScript } from './address.ts';
export { dustThreshold, selectCoins } from './coin-select.ts';
export { RBF_SEQUENCE } from './spend.ts';
export type { KeyPair } from './keys.ts';
export { CONTRACT_ACCOUNT, MAX_INDEX, QUOTE_KEY_ACCOUNT } from './keys.ts';
export type { SyncOptions, SyncReport } from './sync.ts';
