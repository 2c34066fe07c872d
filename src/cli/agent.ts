/**
 * `satpost unlock [--for 15m]` / `satpost lock`: an opt-in unlock that lasts a session, like
 * ssh-agent or gpg-agent. `unlock` takes the passphrase once, unseals with it what it seals
 * (three scrypt derivations: the data key of the databases, the identity private key, the
 * wallet seed; src/client/client.ts ClientSecrets) and hands those, not the passphrase, to a
 * small agent process over a pipe. The agent keeps them in memory only and answers on a Unix
 * socket in the data directory (agent.sock, 0600, in the 0700 directory); every command of that
 * directory then opens with them and derives nothing. The agent zeroes them and exits after
 * the time given, on `satpost lock`, or on SIGTERM/SIGINT.
 *
 * Bound to the user: Node cannot read a socket peer's credentials, so who may connect is
 * decided by the file system: the socket is created 0600 (umask) inside the user's private
 * directory. A client refuses (AGENT_UNSAFE) a socket it does not own or that others may open,
 * or in a directory others may write: it would take keys of an impostor's choosing.
 * Bound to the data directory: each request names the directory (its real path) and the
 * SHA-256 of its sealed data-key file; the agent answers only when both are those of the
 * directory it was started for (else AGENT_WRONG_DIR: a socket moved or linked elsewhere, or
 * a directory re-created in the same place). A socket nobody listens on (an agent killed hard)
 * is stale: ignored, and replaced by the next unlock.
 *
 * Wire (both ways on a connection, and unlock -> agent on stdin): one JSON line, then, when it
 * carries `lengths`, that many raw bytes per secret in order (dataKey, identityKey,
 * walletSecret). Secrets never pass through JSON strings, which could not be zeroed.
 */
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import type { ClientSecrets } from '../client/client.ts';
import { DATA_KEY_FILE } from '../store/files.ts';
import { CliError } from './errors.ts';

export const AGENT_SOCKET = 'agent.sock';
const MAX_UNLOCK_MS = 24 * 3600_000;

export function agentSocketPath(dir: string): string {
  return join(dir, AGENT_SOCKET);
}

/** "90s", "15m", "8h" (at most 24h) in milliseconds. */
export function durationArg(value: string): number {
  const m = /^([0-9]{1,6})(s|m|h)$/.exec(value);
  const ms = m ? Number(m[1]) * { s: 1000, m: 60_000, h: 3600_000 }[m[2] as 's' | 'm' | 'h'] : NaN;
  if (!(ms > 0 && ms <= MAX_UNLOCK_MS)) throw new InvalidArgumentError(`expected a duration such as 90s, 15m or 8h (at most 24h), got ${JSON.stringify(value)}`);
  return ms;
}

/** Throws AGENT_UNSAFE unless `path` is a socket of this user that nobody else can reach. */
function checkOwnSocket(dir: string, path: string): void {
  const uid = process.getuid?.();
  const d = statSync(dir);
  const s = lstatSync(path);
  const problem =
    !s.isSocket() ? 'is not a socket'
    : uid !== undefined && s.uid !== uid ? `belongs to user ${s.uid}, not to you (${uid})`
    // Connecting to a Unix socket needs write permission on it.
    : (s.mode & 0o022) !== 0 ? `lets other users connect (mode ${(s.mode & 0o777).toString(8)})`
    : uid !== undefined && d.uid !== uid ? `is in a directory of user ${d.uid}`
    : (d.mode & 0o022) !== 0 ? `is in a directory other users can write to (mode ${(d.mode & 0o777).toString(8)})`
    : undefined;
  if (problem) {
    throw new CliError('AGENT_UNSAFE', `refusing the unlock agent socket ${path}: it ${problem}`);
  }
}

/** What a request names: the directory's real path and the SHA-256 of its sealed data key. */
interface Binding {
  dir: string;
  dataKey: string;
}

function bindingOf(dir: string): Binding {
  let dataKey = 'none';
  try {
    dataKey = createHash('sha256').update(readFileSync(join(dir, DATA_KEY_FILE))).digest('hex');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return { dir: realpathSync(dir), dataKey };
}

const SECRET_ORDER = ['dataKey', 'identityKey', 'walletSecret'] as const;
const MAX_MESSAGE = 64 * 1024;

/** One JSON line, then the secrets' bytes (in a buffer the caller zeroes once it is sent). */
function frame(head: object, secrets?: ClientSecrets): Buffer {
  const parts = secrets ? SECRET_ORDER.map((k) => secrets[k]) : [];
  const line = Buffer.from(JSON.stringify(secrets ? { ...head, lengths: parts.map((p) => p.length) } : head) + '\n');
  const out = Buffer.alloc(line.length + parts.reduce((n, p) => n + p.length, 0));
  line.copy(out);
  let at = line.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Parses frame(); the secrets are fresh copies (the caller zeroes `buf`). */
function unframe(buf: Buffer): { head: Record<string, unknown>; secrets?: ClientSecrets } {
  const nl = buf.indexOf(0x0a);
  if (nl < 0) throw new CliError('AGENT_FAILED', 'the unlock agent sent a malformed message');
  const head = JSON.parse(buf.subarray(0, nl).toString('utf8')) as Record<string, unknown>;
  const lengths = head.lengths;
  if (lengths === undefined) return { head };
  if (!Array.isArray(lengths) || lengths.length !== SECRET_ORDER.length || !lengths.every((n) => Number.isInteger(n) && n >= 0)) {
    throw new CliError('AGENT_FAILED', 'the unlock agent sent malformed secrets');
  }
  const total = (lengths as number[]).reduce((a, b) => a + b, 0);
  if (buf.length !== nl + 1 + total) throw new CliError('AGENT_FAILED', 'the unlock agent sent truncated secrets');
  let at = nl + 1;
  const take = (n: number) => {
    const out = new Uint8Array(buf.subarray(at, at + n));
    at += n;
    return out;
  };
  const [dataKey, identityKey, walletSecret] = (lengths as number[]).map(take) as [Uint8Array, Uint8Array, Uint8Array];
  return { head, secrets: { dataKey, identityKey, walletSecret } };
}

/**
 * Reads a stream to its end (at most MAX_MESSAGE bytes). By events, not `for await`: the
 * async iterator destroys a socket at the end of its input, before the reply could go back.
 */
function readAll(input: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  return new Promise((resolve, reject) => {
    const done = () => {
      input.off('data', onData);
      const all = Buffer.concat(chunks);
      for (const c of chunks) c.fill(0);
      resolve(all);
    };
    const onData = (c: Buffer | string) => {
      const b = typeof c === 'string' ? Buffer.from(c) : c;
      chunks.push(b);
      size += b.length;
      if (size > MAX_MESSAGE) {
        input.off('end', done);
        reject(new CliError('AGENT_FAILED', 'the unlock agent got an oversized message'));
      }
    };
    input.on('data', onData).once('end', done).once('error', reject);
  });
}

export function zeroSecrets(s: ClientSecrets): void {
  for (const k of SECRET_ORDER) s[k].fill(0);
}

type Reply = { head: Record<string, unknown>; secrets?: ClientSecrets };

/** Sends one request to the agent of `dir`; undefined when no agent listens there. */
async function ask(dir: string, request: object): Promise<Reply | undefined> {
  const path = agentSocketPath(dir);
  try {
    checkOwnSocket(dir, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const socket: Socket = connect(path);
  try {
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  } catch (err) {
    socket.destroy();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED' || code === 'ENOENT') return undefined;
    throw err;
  }
  socket.end(JSON.stringify(request) + '\n');
  try {
    const buf = await readAll(socket);
    if (buf.length === 0) return undefined;
    try {
      return unframe(buf);
    } finally {
      buf.fill(0);
    }
  } finally {
    socket.destroy();
  }
}

/**
 * The unsealed keys the unlock agent of `dir` holds, or undefined when none runs. Throws
 * AGENT_UNSAFE (a socket not safely this user's), AGENT_WRONG_DIR (its agent serves another
 * directory).
 */
export async function secretsFromAgent(dir: string): Promise<ClientSecrets | undefined> {
  if (!existsSocket(dir)) return undefined;
  const reply = await ask(dir, { op: 'get', ...bindingOf(dir) });
  if (reply === undefined) return undefined;
  if (typeof reply.head.refused === 'string') {
    throw new CliError('AGENT_WRONG_DIR', `refusing the unlock agent socket ${agentSocketPath(dir)}: ${reply.head.refused}`);
  }
  if (!reply.secrets) {
    throw new CliError('AGENT_FAILED', 'the unlock agent answered without the keys (an agent of an older satpost?); run `satpost lock`, then `satpost unlock` again');
  }
  return reply.secrets;
}

function existsSocket(dir: string): boolean {
  try {
    lstatSync(agentSocketPath(dir));
    return true;
  } catch {
    return false;
  }
}

/** Ends the agent of `dir` (it zeroes what it holds); false when none was running. */
export async function lockAgent(dir: string): Promise<boolean> {
  return (await ask(dir, { op: 'lock' })) !== undefined;
}

/** Frames `secrets` for the agent's stdin (unlock zeroes the buffer once written). */
export function agentInput(secrets: ClientSecrets): Buffer {
  return frame({ v: 1 }, secrets);
}

/**
 * The agent process (`satpost agent-serve`, started by unlock): reads the unsealed keys from
 * stdin, listens, prints "ready" on stdout, serves until `ms` has passed or it is locked, then
 * zeroes the keys.
 */
export async function serveAgent(dir: string, ms: number): Promise<void> {
  const input = await readAll(process.stdin);
  let held: ClientSecrets;
  try {
    const { secrets } = unframe(input);
    if (!secrets) throw new CliError('AGENT_FAILED', 'the agent was started without keys');
    held = secrets;
  } finally {
    input.fill(0);
  }
  const own = bindingOf(dir);
  const path = agentSocketPath(dir);
  checkPrivateDir(dir);
  // A stale socket of ours (its agent was killed) is replaced; anything else is refused.
  try {
    checkOwnSocket(dir, path);
    if ((await ask(dir, { op: 'ping' })) !== undefined) throw new CliError('AGENT_FAILED', `an unlock agent already runs for ${dir}`);
    rmSync(path, { force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const answer = (socket: Socket, reply: Buffer) => socket.end(reply, () => reply.fill(0));
  // Half-open: a request ends with the client's FIN, and the reply still has to go back.
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    void (async () => {
      const buf = await readAll(socket);
      const nl = buf.indexOf(0x0a);
      const req = JSON.parse(buf.subarray(0, nl < 0 ? buf.length : nl).toString('utf8')) as { op?: unknown; dir?: unknown; dataKey?: unknown };
      if (req.op === 'get') {
        if (req.dir !== own.dir) answer(socket, frame({ refused: `its agent serves ${own.dir}, not ${String(req.dir)}` }));
        else if (req.dataKey !== own.dataKey) answer(socket, frame({ refused: `the data-key of ${own.dir} is not the one this agent was unlocked with` }));
        else answer(socket, frame({ v: 1 }, held));
      } else if (req.op === 'ping') answer(socket, frame({ alive: true }));
      else if (req.op === 'lock') {
        answer(socket, frame({ locked: true }));
        stop();
      } else socket.destroy();
    })().catch(() => socket.destroy());
  });
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    zeroSecrets(held);
    server.close();
  };
  const timer = setTimeout(stop, ms);
  process.once('SIGTERM', stop).once('SIGINT', stop);
  // The socket is born 0600: no moment in which another user could connect.
  const umask = process.umask(0o077);
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve));
  process.umask(umask);
  chmodSync(path, 0o600);
  process.stdout.write('ready\n');
  await new Promise((resolve) => server.once('close', resolve));
}

/** The agent starts only in a directory of this user that others cannot write to: AGENT_UNSAFE. */
export function checkPrivateDir(dir: string): void {
  const uid = process.getuid?.();
  const d = statSync(dir);
  if ((uid !== undefined && d.uid !== uid) || (d.mode & 0o022) !== 0) {
    throw new CliError('AGENT_UNSAFE', `refusing to start an unlock agent in ${dir}: it is not a private directory of yours (mode ${(d.mode & 0o777).toString(8)}, user ${d.uid})`);
  }
}
