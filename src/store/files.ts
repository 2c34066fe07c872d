/** Durable file writes: a crash leaves the old content or the new, never a torn file. */
import { chmodSync, closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

/**
 * Writes `data` to `path` (mode 0600) through a temp file: write, fsync, rename (or, with
 * `exclusive`, link: fails with EEXIST instead of replacing a file already there), fsync the
 * directory.
 */
export function writeFileDurably(path: string, data: string | Uint8Array, dir: string, o: { exclusive?: boolean } = {}): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, 0o600);
  if (o.exclusive) {
    try {
      linkSync(tmp, path);
    } finally {
      rmSync(tmp, { force: true });
    }
  } else {
    renameSync(tmp, path);
  }
  fsyncPath(dir);
}

/** fsync of a file or a directory (through a read-only descriptor, which Linux allows for both). */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
