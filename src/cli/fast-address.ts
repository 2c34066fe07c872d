/**
 * `satpost address` on the fast path of bin/satpost.js (./fast.ts): the options it takes there
 * and the text ./public-address.ts makes, as the command prints it. Loaded only for `address`,
 * in one file (scripts/build.mjs): DataDir, the address decoder and SHA-256, no network code.
 */
import { DataDir } from '../client/datadir.ts';
import { defaultDataDir } from './data-dir.ts';
import { addressOutput, savedPublicInfo } from './public-address.ts';

/**
 * What `address` prints for `options` (after "address"): `--json`, `--data-dir <dir>` or
 * `--data-dir=<dir>`, each at most once. Undefined for anything else (another option, no
 * public.json yet, a damaged one): the full CLI answers, or reports its typed error.
 */
export function fastAddressText(options: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  let json = false;
  let dataDir: string | undefined;
  for (let i = 0; i < options.length; i++) {
    const option = options[i]!;
    const value = option === '--data-dir' ? options[++i] : option.startsWith('--data-dir=') ? option.slice('--data-dir='.length) : undefined;
    if (option === '--json' && !json) json = true;
    // A value starting with "-" or empty: how commander reads it is the full CLI's business.
    else if (value !== undefined && value !== '' && !value.startsWith('-') && dataDir === undefined) dataDir = value;
    else return undefined;
  }
  try {
    const saved = savedPublicInfo(new DataDir(dataDir ?? defaultDataDir(env)));
    return saved === undefined ? undefined : addressOutput({ json }, saved.address, saved.fingerprint);
  } catch {
    return undefined; // an unreadable or damaged public.json: the full CLI reports its typed error
  }
}
