/**
 * Where a user's files are when no --data-dir is given. A module of its own (no commander, no
 * client): the fast path of bin/satpost.js (./fast.ts) needs it without loading the CLI.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where satpost keeps its files: $SATPOST_DATA_DIR, else $XDG_DATA_HOME/satpost, else ~/.local/share/satpost. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SATPOST_DATA_DIR) return env.SATPOST_DATA_DIR;
  if (env.XDG_DATA_HOME) return join(env.XDG_DATA_HOME, 'satpost');
  return join(homedir(), '.local', 'share', 'satpost');
}
