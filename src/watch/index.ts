// The persisted contract life cycle, both sides, and the watcher that drives it.
export * from './errors.ts';
export { ContractBook, contractId, CONTRACT_MIGRATIONS } from './book.ts';
export type { ContractRecord, ContractEvent, ContractState, Role } from './book.ts';
export { PayerContracts, type FundItem, type PayerOptions } from './payer.ts';
export { RelayContracts, MAX_CLAIM_BATCH, checkFundingOutput, type RegisterRequest, type RelayOptions, type RelayPolicy } from './relay.ts';
export { ContractWatcher, type WatcherOptions } from './watcher.ts';
export { findClaim, watchForClaim, type ClaimFound } from './claim-watch.ts';
export { DEFAULT_REORG_DEPTH, type KeyLearned, type Problem, type Settled, type StateChange, type WatchEvents } from './party.ts';
export { openPartyDb } from './party-db.ts';
export { ChannelBook, CHANNEL_MIGRATIONS, isFinalStatus, stateToJson, stateFromJson, fundingScriptId } from './channel-book.ts';
export { encodeChannelMessage } from '../channels/index.ts';
export type { ChannelRecord, ChannelRole, ChannelStatus, HtlcRecord, HtlcStatus, LoggedMessage, ChannelEventRow } from './channel-book.ts';
export { PayerChannels, type OpenRequest } from './channel-payer.ts';
export { RelayChannels, type RelayChannelOptions } from './channel-relay.ts';
export { ChannelWatcher, type ChannelWatcherOptions } from './channel-watcher.ts';
export type { ChannelEvents, ChannelStatusChange, ChannelKeyLearned, ChannelProblem, ChannelPartyOptions } from './channel-party.ts';
