/**
 * `satpost unlock [--for 15m]` / `satpost lock`: an opt-in unlock that lasts a session, like
 * ssh-agent. `unlock` checks the passphrase once, then leaves a small agent process holding it
 * in memory and answering on a Unix socket in the data directory (agent.sock, 0600, in the
 * 0700 directory); every command of that directory then asks the agent instead of the user.
 * The agent exits after the time given, on `satpost lock`, or on SIGTERM/SIGINT.
 *
 * Node cannot read a socket peer's credentials, so who may connect is decided by the file
 * system: the socket is created 0600 (umask) inside the user's 0700 directory. A client
 * refuses (AGENT_UNSAFE) a socket it does not own or that others may open, or in a directory
 * others may write: it would hand the passphrase of an impostor's choosing to the command.
 * A socket nobody listens on (an agent killed hard) is stale: ignored, and replaced by the
 * next unlock.
 */
import { chmodSync, lstatSync, rmSync, statSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { InvalidArgumentError } from 'commander';
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

type Reply = { passphrase: string } | { locked: true };

/** Sends one request line to the agent of `dir`; undefined when no agent listens there. */
async function ask(dir: string, op: 'get' | 'lock'): Promise<Reply | undefined> {
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
  socket.end(JSON.stringify({ op }) + '\n');
  try {
    for await (const line of createInterface({ input: socket })) return JSON.parse(line) as Reply;
    return undefined;
  } finally {
    socket.destroy();
  }
}

/** The passphrase the unlock agent of `dir` holds, or undefined when none runs. */
export async function passphraseFromAgent(dir: string): Promise<string | undefined> {
  const reply = await ask(dir, 'get');
  return reply && 'passphrase' in reply ? reply.passphrase : undefined;
}

/** Ends the agent of `dir`; false when none was running. */
export async function lockAgent(dir: string): Promise<boolean> {
  return (await ask(dir, 'lock')) !== undefined;
}

/**
 * The agent process (`satpost agent-serve`, started by unlock): reads the passphrase from
 * stdin, listens, prints "ready" on stdout, serves until `ms` has passed or it is locked.
 */
export async function serveAgent(dir: string, ms: number): Promise<void> {
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  const { passphrase } = JSON.parse(text) as { passphrase: string };
  const path = agentSocketPath(dir);
  // A stale socket of ours (its agent was killed) is replaced; anything else is refused.
  try {
    checkOwnSocket(dir, path);
    if ((await ask(dir, 'get')) !== undefined) throw new CliError('BAD_ARGUMENTS', `an unlock agent already runs for ${dir}`);
    rmSync(path, { force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const server = createServer((socket) => {
    void (async () => {
      for await (const line of createInterface({ input: socket })) {
        const { op } = JSON.parse(line) as { op: string };
        if (op === 'get') socket.end(JSON.stringify({ passphrase }) + '\n');
        else if (op === 'lock') {
          socket.end(JSON.stringify({ locked: true }) + '\n');
          stop();
        } else socket.destroy();
        return;
      }
    })().catch(() => socket.destroy());
  });
  const stop = () => {
    clearTimeout(timer);
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
