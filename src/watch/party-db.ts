/**
 * A party's one SQLite file: its wallet and its contract book side by side, so that the
 * money a contract locks and the contract's state are committed to the same file.
 */
import { openDb, type Db } from '../store/sqlite.ts';
import { WALLET_MIGRATIONS } from '../wallet/store.ts';

/**
 * Opens (creating if needed) a party file with the wallet schema; ContractBook adds its own.
 * `key`: the data directory's data key (see OpenOptions.key).
 */
export function openPartyDb(path: string, key?: Uint8Array): Db {
  return openDb({ path, migrations: WALLET_MIGRATIONS, ...(key ? { key } : {}) });
}
