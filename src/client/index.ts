// Public surface of the client SDK for the CLI, the web app and the demo.
export { Client, type ClientInitOptions, type ClientOpenOptions, type SentPayment } from './client.ts';
export { ClientError, type ClientErrorCode } from './errors.ts';
export { checkContactName, MAX_CONTACT_NAME, type Contact } from './contacts.ts';
export { DEFAULT_CHAIN_URLS, type ClientConfig } from './config.ts';
export { DATA_FILES, DataDir, type DataDirState } from './datadir.ts';
export { RelayClient, DEFAULT_RELAY_TIMEOUT_MS, type RelayInfo, type ListedEntry, type UnlockAnswer } from './relay-client.ts';
export { DEFAULT_MAX_FEE, DEFAULT_RETENTION_DAYS, REPEAT_WINDOW_MS, type SendContent, type SendOptions, type SentMessage } from './send.ts';
export type { SendPreview, QuoteSeen } from './preview.ts';
export type { AddressBook, BookEntry, BookImport } from './backup.ts';
export { DEFAULT_MAX_PRICE, type InboxEntry, type ReadMessage, type ReadOptions } from './receive.ts';
export type { PublishResult } from './publish.ts';
export type { InboxState, OutboxState } from './mail-store.ts';
export { ClientEvents, type ClientEventMap, type ClientEventName, type OutboxEvent, type InboxEvent, type BalanceEvent } from './events.ts';
export type { FollowOptions, FollowPause } from './follow.ts';
