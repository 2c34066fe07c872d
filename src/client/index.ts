// Public surface of the client SDK for the CLI, the web app and the demo.
export { Client, type ClientInitOptions, type ClientOpenOptions, type SentPayment } from './client.ts';
export { ClientError, type ClientErrorCode } from './errors.ts';
export { checkContactName, MAX_CONTACT_NAME, type Contact } from './contacts.ts';
export { DEFAULT_CHAIN_URLS, type ClientConfig } from './config.ts';
export { DATA_FILES, DataDir, type DataDirState } from './datadir.ts';
