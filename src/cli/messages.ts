/**
 * `satpost publish | send | outbox | inbox | read`: messaging over relays (docs/cli.md).
 * Every command first lets the client resume what an earlier run left unfinished (deposits,
 * fundings, refunds), so a crash or a closed laptop never strands a message or its money.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { Option, type Command } from 'commander';
import type { Client } from '../client/client.ts';
import type { InboxEntry, ReadMessage } from '../client/receive.ts';
import type { SentMessage } from '../client/send.ts';
import type { MessageContent } from '../core/objects/message.ts';
import type { PublishResult } from '../client/publish.ts';
import type { FollowPause } from '../client/follow.ts';
import { ClientError } from '../client/errors.ts';
import { CliError } from './errors.ts';
import { sats, total } from './money.ts';
import { examples, integerArg, output, positiveNumberArg, progress, withClient, withClientOptions, type ClientFlags } from './context.ts';

interface SendFlags extends ClientFlags {
  file?: string;
  mode: 'sender-pays' | 'recipient-pays';
  maxFee?: number;
  retentionDays?: number;
  /** commander's --no-channel: false forces the chain. */
  channel: boolean;
  again?: boolean;
}
interface InboxFlags extends ClientFlags {
  watch?: boolean;
}
interface ReadFlags extends ClientFlags {
  maxPrice?: number;
  payUnknown?: boolean;
  out?: string;
  wait?: number;
  /** commander's --no-channel: false forces the chain. */
  channel: boolean;
}

const MEDIA_TYPES: Record<string, string> = {
  '.txt': 'text/plain', '.md': 'text/markdown', '.json': 'application/json', '.pdf': 'application/pdf',
  '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif', '.zip': 'application/zip',
};

/**
 * Resumes pending sends and contracts; problems are reported on stderr, never fatal here. Says
 * first which saved messages it finishes (a person who interrupted a send looks for that line).
 * Throws only when `signal` aborts it. Returns the ids of the messages it finished.
 */
async function resumeFirst(client: Client, flags: ClientFlags, signal?: AbortSignal): Promise<Set<string>> {
  for (const u of client.unfinishedSends()) {
    process.stderr.write(`finishing the saved message to ${u.to} (${u.id !== undefined ? `id ${u.id}` : `not yet quoted, draft ${u.draft!}`})\n`);
  }
  let sends: { id: string; error?: unknown; dropped?: boolean }[];
  try {
    ({ sends } = await client.resume(signal ? { signal } : {}));
  } catch (err) {
    if (signal?.aborted) throw err;
    // The chain may be down: say so, and let the command do what it can without it.
    process.stderr.write(`warning: pending messages and contracts were not resumed: ${(err as Error).message}\n`);
    return new Set();
  }
  for (const s of sends) {
    if (s.dropped) process.stderr.write(`warning: the saved message (draft ${s.id}) was not sent and is dropped: ${(s.error as Error).message}\n`);
    else if (s.error) process.stderr.write(`warning: message ${s.id.slice(0, 12)} is still pending: ${(s.error as Error).message}\n`);
    else progress(flags, `resumed message ${s.id.slice(0, 12)}`);
  }
  return new Set(sends.filter((s) => s.error === undefined).map((s) => s.id));
}

/** Exit status of a send stopped by Ctrl-C (128 + SIGINT, as shells report it). */
const INTERRUPTED_EXIT = 130;

/**
 * Runs a send with Ctrl-C turned into an abort: the SDK stops at its next step with the message
 * saved (it persists each step before taking it), the client closes its files, and the process
 * exits INTERRUPTED_EXIT saying what the next command will finish. A second Ctrl-C exits at once,
 * which is as safe as a crash (nothing is half-written: every step is a committed transaction).
 */
async function interruptible(send: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const ac = new AbortController();
  const onSigint = () => {
    if (!ac.signal.aborted) return ac.abort();
    process.stderr.write('interrupted again: stopping now; the next satpost command finishes what was saved\n');
    process.exit(INTERRUPTED_EXIT);
  };
  process.on('SIGINT', onSigint);
  try {
    await send(ac.signal);
  } catch (err) {
    if (!ac.signal.aborted) throw err;
    const saved = ClientError.is(err, 'SEND_INTERRUPTED');
    process.stderr.write(
      saved
        ? `interrupted: ${err.message}\n`
        : 'interrupted before this message was saved: nothing of it was sent; messages saved earlier are finished by the next satpost command\n',
    );
    process.exitCode = INTERRUPTED_EXIT;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export function registerMessageCommands(program: Command): void {
  withClientOptions(program.command('publish').description('publish your prekeys ("the series of keys") at your relays, so people can write to you'))
    .addHelpText('after', examples('satpost publish'))
    .action(async (_o: ClientFlags, cmd: Command) => {
      const flags = cmd.opts<ClientFlags>();
      await withClient(flags, async (client) => {
        const published = await client.publish();
        output(flags, { published }, () => publishLines(published));
      });
    });

  withClientOptions(
    program
      .command('send')
      .description('send a message (or a file) to a contact through a relay')
      .argument('<name>', 'the contact')
      .argument('[text]', 'the message (or --file)')
      .option('--file <path>', 'send this file instead of a text')
      .addOption(new Option('--mode <mode>', 'who pays the relay: you on delivery, or the recipient to read it').choices(['sender-pays', 'recipient-pays']).default('sender-pays'))
      .option('--max-fee <sats>', 'the highest relay price you accept (default 10000)', integerArg('max fee', 1, 21e14))
      .option('--retention-days <days>', 'how long the relay keeps it (default 0.5 = 12 hours; relays cap it: see their /.well-known/satpost maxRetentionSecs)', positiveNumberArg('retention days'))
      .option('--no-channel', 'offer to the network even with an open channel (either mode) and, sender-pays, pay on chain (see `satpost channel --help`)')
      .option('--again', 'send it even if an identical message (same contact, text or file, and mode) is unfinished or was sent in the last 15 minutes'),
  )
    .addHelpText('after', examples('satpost send carol "see you at seven"', 'satpost send carol --file ./notes.pdf --mode recipient-pays --max-fee 2000'))
    .action(async (name: string, text: string | undefined, _o: SendFlags, cmd: Command) => {
      const flags = cmd.opts<SendFlags>();
      if ((text === undefined) === (flags.file === undefined)) throw new CliError('BAD_ARGUMENTS', 'give either a text or --file FILE, not both or neither');
      const content = flags.file !== undefined ? fileContent(flags.file) : { text: text! };
      await withClient(flags, (client) =>
        interruptible(async (signal) => {
          const finished = await resumeFirst(client, flags, signal);
          progress(flags, `asking relays for quotes...`);
          const sent = await client.send(name, content, {
            mode: flags.mode,
            ...(flags.maxFee !== undefined ? { maxFee: flags.maxFee } : {}),
            ...(flags.retentionDays !== undefined ? { retentionDays: flags.retentionDays } : {}),
            ...(flags.channel === false ? { channel: false } : {}),
            ...(flags.again ? { again: true } : {}),
            signal,
          });
          // The resume pass already said it finished this one.
          if (sent.repeat === 'already-sent' && !finished.has(sent.id)) {
            process.stderr.write(`an identical message to ${sent.to} (id ${sent.id}) was already sent; not sending it twice (--again sends another)\n`);
          }
          output(flags, { sent: sentJson(sent) }, () => sentLines(sent));
        }),
      );
    });

  withClientOptions(program.command('outbox').description('list the messages you sent and where each stands (delivered, refunded, ...)'))
    .addHelpText('after', examples('satpost outbox'))
    .action(async (_o: ClientFlags, cmd: Command) => {
      const flags = cmd.opts<ClientFlags>();
      await withClient(flags, async (client) => {
        await resumeFirst(client, flags);
        // Recipient-pays messages become 'delivered' once their relay lists them unlocked (the recipient paid and read).
        for (const p of await client.refreshOutbox()) process.stderr.write(`warning: relay ${p.relay}: ${(p.error as Error).message} (recipient-pays states from it not refreshed)\n`);
        const messages = client.outbox();
        output(flags, { messages: messages.map(sentJson) }, () => (messages.length === 0 ? ['no messages sent yet'] : messages.map(outboxLine)));
      });
    });

  withClientOptions(
    program.command('inbox').description('list the messages waiting for you at your relays (checked, nothing paid)').option('--watch', 'then print new messages as they arrive (Ctrl-C stops)'),
  )
    .addHelpText('after', examples('satpost inbox', 'satpost inbox --watch --json'))
    .action(async (_o: InboxFlags, cmd: Command) => {
      const flags = cmd.opts<InboxFlags>();
      await withClient(flags, async (client) => {
        await resumeFirst(client, flags);
        const { entries, problems } = await client.inbox();
        for (const p of problems) process.stderr.write(`warning: relay ${p.relay}: ${(p.error as Error).message}\n`);
        if (!flags.watch) {
          output(flags, { messages: entries.map(entryJson) }, () => (entries.length === 0 ? ['no messages'] : entries.map((e) => inboxLine(e))));
          return;
        }
        // --watch: one line (or one JSON object) per message, the listed ones first.
        for (const e of entries) output(flags, { message: entryJson(e) }, () => [inboxLine(e)]);
        progress(flags, 'watching your relays for new messages (Ctrl-C to stop; nothing is lost)');
        const ac = new AbortController();
        const stop = () => ac.abort();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          // A relay that closes the subscription, or cannot be reached meanwhile (restarting),
          // ends one watch; following watches again after a pause (SDK follow(): 1 s doubling
          // to a minute), listing first, so nothing is missed or shown twice.
          const onPause = (p: FollowPause) => {
            const why = p.why === 'closed' ? 'a relay closed the subscription' : (p.error as Error).message;
            progress(flags, `${why}; watching again in ${p.pauseMs / 1000} s (Ctrl-C to stop; nothing is lost)`);
          };
          for await (const e of client.follow({ signal: ac.signal, onPause })) output(flags, { message: entryJson(e) }, () => [inboxLine(e)]);
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
      });
    });

  withClientOptions(
    program
      .command('read')
      .description('read a message: pays for it if the recipient pays (up to --max-price), then decrypts it')
      .argument('<id>', 'the message id from `satpost inbox` (a unique prefix is enough)')
      .option('--max-price <sats>', 'the most you pay to read it (default 10000)', integerArg('max price', 0, 21e14))
      .option('--pay-unknown', 'pay to read it even though the sender is not one of your contacts')
      .option('--out <path>', 'where to save a file message (default: print its description)')
      .option('--wait <secs>', 'the longest to wait for the key (relay down, funding unconfirmed) before giving up with WAIT_TIMEOUT (default 600)', integerArg('wait', 1, 86_400))
      .option('--no-channel', 'recipient-pays: pay on chain even when an open channel with the relay could pay'),
  )
    .addHelpText('after', examples('satpost read 3f2a9c1b', 'satpost read 3f2a9c1b --max-price 1000 --out ./notes.pdf'))
    .action(async (id: string, _o: ReadFlags, cmd: Command) => {
      const flags = cmd.opts<ReadFlags>();
      await withClient(flags, async (client) => {
        await resumeFirst(client, flags);
        const read = await client.read(id, {
          ...(flags.maxPrice !== undefined ? { maxPrice: flags.maxPrice } : {}),
          ...(flags.payUnknown ? { payUnknownSender: true } : {}),
          ...(flags.wait !== undefined ? { waitMs: flags.wait * 1000 } : {}),
          ...(flags.channel === false ? { channel: false } : {}),
          onProgress: (line) => progress(flags, `${line} (waiting up to ${flags.wait ?? 600} s; Ctrl-C is safe: run read again later)`),
        });
        if (read.message.kind === 'file' && flags.out) writeFileSync(flags.out, read.message.data, { mode: 0o600 });
        output(flags, { message: entryJson(read) }, () => readLines(read, flags.out));
      });
    });
}

function fileContent(path: string): { file: { name: string; mediaType: string; data: Uint8Array } } {
  let data: Uint8Array;
  try {
    data = new Uint8Array(readFileSync(path));
  } catch (cause) {
    throw new CliError('BAD_ARGUMENTS', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  return { file: { name: basename(path), mediaType: MEDIA_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream', data } };
}

function publishLines(p: PublishResult): string[] {
  return p.relays.map((r) =>
    r.error ? `${r.url}: failed: [${r.error.code}] ${r.error.message}` : `${r.url}: holds ${r.oneTimePreKeys} one-time prekeys (${r.kyberPreKeys} Kyber)`,
  );
}

function sentLines(s: SentMessage): string[] {
  const paid =
    s.mode === 'recipient-pays'
      ? `${s.to} pays ${sats(s.price)} to read it; you pay nothing`
      : s.via === 'channel'
        ? `you pay ${sats(s.price)} on delivery through channel ${s.channelId!.slice(0, 16)} (no transaction on chain, no fee)`
        : `you pay ${total([['price', s.price], ['funding fee', s.fundingFee ?? 0]])}; the price goes to the relay on delivery (funding ${s.fundingTxid ?? 'pending'})`;
  return [`sent to ${s.to} via ${s.relay}: ${s.size} bytes, ${s.mode}; ${paid}`, `id ${s.id}`, `kept until ${new Date(s.expiresAt).toISOString()}, contract T = block ${s.locktime}`];
}

function outboxLine(s: SentMessage): string {
  // A recipient-pays message costs its sender nothing: no price on her line.
  const price = s.mode === 'sender-pays' ? `  ${total([['price', s.price], ['funding fee', s.fundingFee ?? 0]])}` : '';
  return `${s.id.slice(0, 12)}  to ${s.to}  ${s.mode}${price}  ${s.state}`;
}

function inboxLine(e: InboxEntry, now = Date.now()): string {
  const from = e.verified ? `from ${e.from}` : `from unknown sender ${e.from}`;
  const price = e.mode === 'sender-pays' ? 'free to read (sender pays)' : `${sats(e.price)} to read`;
  const when = ago(e.sentAt ?? e.depositedAt, now);
  const line = `${e.id.slice(0, 12)}  ${when}  ${from}  ${e.size} bytes  ${price}  ${e.state}  until ${new Date(e.expiresAt).toISOString()}`;
  // A spoiled message stays listed, with what the relay did; a read one with a line of it.
  if (e.state === 'corrupt' || e.state === 'fraud') return `${line}\n    ${e.detail ?? ''}`;
  return e.message ? `${line}\n    ${preview(e.message)}` : line;
}

/** "just now", "3 min ago", "2 h ago", "5 days ago" (a time in the future, from a skewed clock, is "just now"). */
export function ago(ms: number, now: number): string {
  const s = Math.max(0, Math.floor((now - ms) / 1000));
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  const d = Math.floor(s / 86_400);
  return `${d} day${d === 1 ? '' : 's'} ago`;
}

/** PREVIEW_CHARS: the longest preview; longer texts end in "…". */
export const PREVIEW_CHARS = 60;

/** One line of a read message: its text with control characters (and line breaks) made spaces, or the file's name. */
export function preview(m: NonNullable<InboxEntry['message']>): string {
  // eslint-disable-next-line no-control-regex
  const flat = (t: string) => t.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]+/g, ' ').replace(/ {2,}/g, ' ').trim();
  if (m.kind !== 'text') return `file "${flat(m.name)}" (${m.mediaType}, ${m.data.length} bytes)`;
  const t = flat(m.text);
  const chars = [...t];
  return chars.length > PREVIEW_CHARS ? `"${chars.slice(0, PREVIEW_CHARS - 1).join('').trimEnd()}…"` : `"${t}"`;
}

function readLines(r: ReadMessage, out: string | undefined): string[] {
  const cost = r.mode === 'sender-pays' ? 'free to read (the sender paid)' : `it cost you ${total([['price', r.price], ['funding fee', r.fundingFee ?? 0]])}`;
  const head = `from ${r.verified ? r.from : `unknown sender ${r.from}`}, sent ${new Date(r.sentAt).toISOString()}; ${cost}`;
  if (r.message.kind === 'text') return [head, r.message.text];
  const m = r.message;
  return [head, `file "${m.name}" (${m.mediaType}, ${m.data.length} bytes) ${out ? `saved to ${out}` : 'not saved: pass --out PATH'}`];
}

/** JSON form of message content: file data as base64. */
function contentJson(m: MessageContent): Record<string, unknown> {
  return m.kind === 'text' ? m : { ...m, data: Buffer.from(m.data).toString('base64') };
}

/** JSON form of an entry. */
function entryJson(e: InboxEntry): Record<string, unknown> {
  const { message, ...rest } = e;
  return message ? { ...rest, message: contentJson(message) } : rest;
}

/** JSON form of a sent message. */
function sentJson(m: SentMessage): Record<string, unknown> {
  const { content, ...rest } = m;
  return content ? { ...rest, content: contentJson(content) } : rest;
}
