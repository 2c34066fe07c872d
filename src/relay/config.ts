/**
 * Every relay setting, its unit and its default, in one table. Settings are read from a
 * JSON file, then from SATPOST_RELAY_<KEY> environment variables (the key in
 * UPPER_SNAKE_CASE, e.g. SATPOST_RELAY_PRICE_PER_BLOCK_SATS), then from command-line flags;
 * later sources win. Every value is validated; an unknown key or a bad value is
 * RelayError BAD_CONFIG naming the source.
 */
import { readFileSync } from 'node:fs';
import { expected } from '../core/errors.ts';
import { MAX_BODY, MAX_SEALED_HEADER } from '../core/limits.ts';
import { isNetworkName, type NetworkName } from '../core/network.ts';
import { TEXT_SIZE_CLASS, sizeClassFor, type PaymentMode } from '../core/objects/index.ts';
import { RelayError } from './errors.ts';

export interface RelayConfig {
  host: string;
  port: number;
  dataDir: string;
  name: string;
  publicUrl: string;
  network: NetworkName;
  chainUrl: string;
  passphrase: string;
  priceBaseSats: number;
  pricePerBlockSats: number;
  pricePerDaySats: number;
  maxMessageBytes: number;
  maxRetentionSecs: number;
  blockIntervalSecs: number;
  mailboxMaxMessages: number;
  mailboxMaxBytes: number;
  // Unpaid storage (recipient-pays, and sender-pays not yet funded): its own allowances, docs/relay-api.md "Quotas"
  mailboxUnpaidMaxMessages: number;
  mailboxUnpaidMaxBytes: number;
  depositorUnpaidMaxMessages: number;
  depositorUnpaidMaxBytes: number;
  rateLimitBurst: number;
  rateLimitPerSec: number;
  bodyLimitBytes: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  quoteValiditySecs: number;
  challengeTtlSecs: number;
  authMaxSkewSecs: number;
  confirmations: number;
  lockBlocks: number;
  claimMarginBlocks: number;
  acceptedModes: PaymentMode[];
  synchronous: 'FULL' | 'NORMAL';
  writeBatchMax: number;
  sweepIntervalSecs: number;
  streamMaxInFlight: number;
  // Prekey bundles (src/relay/prekeys.ts)
  prekeyFetchPerMailboxPerHour: number;
  prekeyFetchPerIpPerHour: number;
  prekeyUsedIdsMax: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'silent';
  // Payment channels (src/relay/channels.ts)
  channelMinCapacitySats: number;
  channelMaxCapacitySats: number;
  channelMinBlocks: number;
  channelMaxBlocks: number;
  channelMaxFeeRate: number;
  channelMaxInFlight: number;
  channelTermsSecs: number;
  // Relay network (src/relay/network.ts)
  p2p: boolean;
  p2pPort: number;
  bootstrap: string[];
  p2pMinPeers: number;
  offerWindowMs: number;
  queryBudgetMs: number;
  queryHopLimit: number;
  topologyRepublishSecs: number;
  offerRateBurst: number;
  offerRatePerSec: number;
  forwardRateBurst: number;
  forwardRatePerSec: number;
}

type Kind = 'string' | 'int' | 'network' | 'modes' | 'sync' | 'level' | 'bool' | 'strings';
interface Setting {
  kind: Kind;
  min?: number;
  max?: number;
  unit: string;
  doc: string;
}

const INT_MAX = Number.MAX_SAFE_INTEGER;

/** The documentation of every setting (also rendered into docs/relay-api.md). */
export const SETTINGS: { [K in keyof RelayConfig]: Setting } = {
  host: { kind: 'string', unit: 'address', doc: 'address to bind' },
  port: { kind: 'int', min: 0, max: 65535, unit: 'TCP port', doc: '0 picks a free port' },
  dataDir: { kind: 'string', unit: 'path', doc: 'directory of relay.sqlite, wallet.sqlite and node-key' },
  name: { kind: 'string', unit: 'text', doc: 'name shown in the information document' },
  publicUrl: { kind: 'string', unit: 'URL', doc: 'URL clients use to reach this relay (quotes carry it); empty: http://host:port' },
  network: { kind: 'network', unit: 'name', doc: 'Bitcoin network: regtest, signet, testnet or mainnet' },
  chainUrl: { kind: 'string', unit: 'URL', doc: 'Esplora API root of the chain (e.g. a satpost devnet); empty: no chain, quotes refused' },
  passphrase: { kind: 'string', unit: 'text', doc: 'passphrase encrypting the relay wallet seed; empty: a random one kept in <dataDir>/wallet-passphrase (0600)' },
  priceBaseSats: { kind: 'int', min: 0, max: INT_MAX, unit: 'sats', doc: 'price of every message' },
  pricePerBlockSats: { kind: 'int', min: 0, max: INT_MAX, unit: 'sats per 16 KiB of size class', doc: 'price per 16 KiB block of the message\'s size class (16 KiB: 1 block, 32 KiB: 2, ...)' },
  pricePerDaySats: { kind: 'int', min: 0, max: INT_MAX, unit: 'sats per day (rounded up)', doc: 'price per day of retention' },
  maxMessageBytes: { kind: 'int', min: 1, max: MAX_BODY, unit: 'bytes', doc: 'largest body c accepted' },
  maxRetentionSecs: { kind: 'int', min: 1, max: 0xffffffff, unit: 'seconds', doc: 'longest retention offered' },
  blockIntervalSecs: { kind: 'int', min: 1, max: 86400, unit: 'seconds', doc: 'expected time between blocks; retention must end before T - claim margin' },
  mailboxMaxMessages: { kind: 'int', min: 1, max: INT_MAX, unit: 'messages', doc: 'stored (paid) messages per tag' },
  mailboxMaxBytes: { kind: 'int', min: 1, max: INT_MAX, unit: 'bytes', doc: 'stored (paid) blob bytes per tag' },
  mailboxUnpaidMaxMessages: { kind: 'int', min: 0, max: INT_MAX, unit: 'messages', doc: 'unpaid messages (recipient-pays, sender-pays not yet funded) per tag, on top of the paid ones' },
  mailboxUnpaidMaxBytes: { kind: 'int', min: 0, max: INT_MAX, unit: 'bytes', doc: 'unpaid blob bytes per tag, on top of the paid ones' },
  depositorUnpaidMaxMessages: { kind: 'int', min: 0, max: INT_MAX, unit: 'messages', doc: 'unpaid messages one depositor (client IPv4 address or IPv6 /64) may have stored, over all tags' },
  depositorUnpaidMaxBytes: { kind: 'int', min: 0, max: INT_MAX, unit: 'bytes', doc: 'unpaid blob bytes one depositor may have stored, over all tags' },
  rateLimitBurst: { kind: 'int', min: 0, max: INT_MAX, unit: 'requests', doc: 'token bucket size per client address; 0 disables rate limiting' },
  rateLimitPerSec: { kind: 'int', min: 0, max: INT_MAX, unit: 'requests per second', doc: 'token bucket refill per client address' },
  bodyLimitBytes: { kind: 'int', min: 0, max: 2 * MAX_BODY, unit: 'bytes', doc: 'largest HTTP body or WebSocket frame; 0: maxMessageBytes + 10 KiB (sealed header and framing)' },
  requestTimeoutMs: { kind: 'int', min: 0, max: INT_MAX, unit: 'ms', doc: 'time allowed to receive a whole request, headers and body (0: none)' },
  keepAliveTimeoutMs: { kind: 'int', min: 0, max: INT_MAX, unit: 'ms', doc: 'idle keep-alive connection timeout' },
  quoteValiditySecs: { kind: 'int', min: 1, max: 86400, unit: 'seconds', doc: 'a quote must be deposited within this time' },
  challengeTtlSecs: { kind: 'int', min: 1, max: 3600, unit: 'seconds', doc: 'unused since 0.2 (mailbox challenges are retired); still accepted so that older config files load' },
  authMaxSkewSecs: { kind: 'int', min: 1, max: 3600, unit: 'seconds', doc: 'largest clock difference accepted in a ChannelAuth or PrekeyPublish timestamp' },
  confirmations: { kind: 'int', min: 1, max: 1000, unit: 'blocks', doc: 'confirmations a funding needs before the relay claims' },
  lockBlocks: { kind: 'int', min: 2, max: 2016, unit: 'blocks', doc: 'contract locktime T = tip + lockBlocks' },
  claimMarginBlocks: { kind: 'int', min: 1, max: 2015, unit: 'blocks', doc: 'the relay claims no later than T - claimMarginBlocks' },
  acceptedModes: { kind: 'modes', unit: 'list', doc: 'payment modes offered: sender-pays, recipient-pays (comma separated in env/flags)' },
  synchronous: { kind: 'sync', unit: 'FULL|NORMAL', doc: 'SQLite durability: FULL survives power loss, NORMAL only a process crash' },
  writeBatchMax: { kind: 'int', min: 1, max: 100000, unit: 'writes', doc: 'largest group-commit batch' },
  sweepIntervalSecs: { kind: 'int', min: 1, max: 86400, unit: 'seconds', doc: 'how often expired messages, keys and quotes are deleted' },
  streamMaxInFlight: { kind: 'int', min: 1, max: 100000, unit: 'requests', doc: 'unanswered requests allowed per WebSocket connection' },
  prekeyFetchPerMailboxPerHour: { kind: 'int', min: 0, max: INT_MAX, unit: 'fetches per hour', doc: 'prekey fetches per mailbox that get one-time keys (token bucket); past it a fetch gets the bundle without them; 0: no limit' },
  prekeyFetchPerIpPerHour: { kind: 'int', min: 0, max: INT_MAX, unit: 'fetches per hour', doc: 'prekey fetches per client address that get one-time keys (token bucket); 0: no limit' },
  prekeyUsedIdsMax: { kind: 'int', min: 1, max: 1_000_000, unit: 'ids', doc: 'handed-out one-time prekey ids remembered exactly per mailbox and kind; older ones are kept as a floor (every id at or below it is refused)' },
  logLevel: { kind: 'level', unit: 'level', doc: 'pino log level' },
  channelMinCapacitySats: { kind: 'int', min: 1, max: 21e14, unit: 'sats', doc: 'smallest channel capacity accepted' },
  channelMaxCapacitySats: { kind: 'int', min: 1, max: 21e14, unit: 'sats', doc: 'largest channel capacity accepted' },
  channelMinBlocks: { kind: 'int', min: 1, max: 1_000_000, unit: 'blocks', doc: 'shortest channel life accepted: T_ch - tip at open' },
  channelMaxBlocks: { kind: 'int', min: 1, max: 1_000_000, unit: 'blocks', doc: 'longest channel life accepted: T_ch - tip at open' },
  channelMaxFeeRate: { kind: 'int', min: 1, max: 100_000, unit: 'sat/vB', doc: 'highest commitment fee rate a channel may fix' },
  channelMaxInFlight: { kind: 'int', min: 1, max: 483, unit: 'HTLCs', doc: 'most HTLCs (unread messages) in flight per channel; an add past it is refused (TOO_MANY_IN_FLIGHT)' },
  channelTermsSecs: { kind: 'int', min: 1, max: 7 * 86400, unit: 'seconds', doc: 'how long the standing terms signed for a channel (GET /v1/channel/:id/terms) hold' },
  p2p: { kind: 'bool', unit: 'true|false', doc: 'join the relay network (libp2p); false (--p2p-off): a standalone relay, /v1/offer, /v1/tags/query and /v1/lookup/* answer P2P_OFF' },
  p2pPort: { kind: 'int', min: 0, max: 65535, unit: 'TCP port', doc: 'libp2p listen port on host; 0 picks a free port (`satpost relay` defaults to 4848, so a restarted relay keeps its multiaddr)' },
  bootstrap: { kind: 'strings', unit: 'list of multiaddrs', doc: 'relays to connect to at start, /ip4/../tcp/../p2p/<peer id> (comma separated in env/flags)' },
  p2pMinPeers: { kind: 'int', min: 0, max: 64, unit: 'relays', doc: 'dial relays learnt from topology announcements while fewer are connected; 0: only bootstrap and inbound' },
  offerWindowMs: { kind: 'int', min: 1, max: 60_000, unit: 'ms', doc: 'the longest POST /v1/offer collects quotes from the network (sooner once every expected relay answered)' },
  queryBudgetMs: { kind: 'int', min: 1, max: 10_000, unit: 'ms', doc: 'how long POST /v1/tags/query (and a lookup) waits for the network' },
  queryHopLimit: { kind: 'int', min: 0, max: 255, unit: 'hops', doc: 'largest hop limit a mailbox query may ask this relay to spread with (a larger signed hopLimit is lowered)' },
  topologyRepublishSecs: { kind: 'int', min: 1, max: 3600, unit: 'seconds', doc: 'how often the relay re-announces its links on satpost/topology/v1' },
  offerRateBurst: { kind: 'int', min: 0, max: INT_MAX, unit: 'offers', doc: 'network offers taken from one origin relay at once (a neighbour forwarding others\' offers: 4x); 0: no limit' },
  offerRatePerSec: { kind: 'int', min: 0, max: INT_MAX, unit: 'offers per second', doc: 'refill of offerRateBurst (a forwarding neighbour: 4x)' },
  forwardRateBurst: { kind: 'int', min: 0, max: INT_MAX, unit: 'requests', doc: 'mailbox queries and lookups taken from one neighbouring relay at once; 0: no limit' },
  forwardRatePerSec: { kind: 'int', min: 0, max: INT_MAX, unit: 'requests per second', doc: 'refill of forwardRateBurst' },
};

export const DEFAULTS: RelayConfig = {
  host: '127.0.0.1',
  port: 8090,
  dataDir: '',
  name: 'satpost relay',
  publicUrl: '',
  network: 'regtest',
  chainUrl: '',
  passphrase: '',
  priceBaseSats: 500,
  pricePerBlockSats: 32,
  pricePerDaySats: 10,
  maxMessageBytes: MAX_BODY,
  maxRetentionSecs: 86400,
  blockIntervalSecs: 600,
  mailboxMaxMessages: 10_000,
  mailboxMaxBytes: 256 * 1024 * 1024,
  // A mailbox takes unpaid mail from several depositors before it refuses any; no depositor fills it alone.
  mailboxUnpaidMaxMessages: 500,
  mailboxUnpaidMaxBytes: 64 * 1024 * 1024,
  depositorUnpaidMaxMessages: 100,
  depositorUnpaidMaxBytes: 16 * 1024 * 1024,
  rateLimitBurst: 200,
  rateLimitPerSec: 100,
  bodyLimitBytes: 0,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 72_000,
  quoteValiditySecs: 600,
  challengeTtlSecs: 60,
  authMaxSkewSecs: 120,
  confirmations: 1,
  lockBlocks: 144,
  claimMarginBlocks: 12,
  acceptedModes: ['recipient-pays', 'sender-pays'],
  synchronous: 'FULL',
  writeBatchMax: 1024,
  sweepIntervalSecs: 60,
  streamMaxInFlight: 256,
  prekeyFetchPerMailboxPerHour: 30,
  prekeyFetchPerIpPerHour: 60,
  prekeyUsedIdsMax: 1000,
  logLevel: 'info',
  channelMinCapacitySats: 10_000,
  channelMaxCapacitySats: 100_000_000,
  channelMinBlocks: 144,
  channelMaxBlocks: 4032,
  channelMaxFeeRate: 1000,
  channelMaxInFlight: 483,
  channelTermsSecs: 3600,
  p2p: true,
  p2pPort: 0,
  bootstrap: [],
  p2pMinPeers: 6,
  offerWindowMs: 2000,
  queryBudgetMs: 5000,
  queryHopLimit: 8,
  topologyRepublishSecs: 30,
  offerRateBurst: 100,
  offerRatePerSec: 20,
  forwardRateBurst: 400,
  forwardRatePerSec: 100,
};

export type ConfigInput = Partial<Record<keyof RelayConfig, unknown>>;

const MODES: readonly PaymentMode[] = ['sender-pays', 'recipient-pays'];
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'silent'];

function bad(source: string, key: string, expectation: string, got: unknown): RelayError {
  return new RelayError('BAD_CONFIG', `${source}: ${expected(key, expectation, got)}`);
}

/** One value from any source; strings are accepted everywhere (env and flags are text). */
function parseValue(key: keyof RelayConfig, raw: unknown, source: string): unknown {
  const s = SETTINGS[key];
  switch (s.kind) {
    case 'string':
      if (typeof raw !== 'string') throw bad(source, key, 'a string', raw);
      return raw;
    case 'int': {
      const n = typeof raw === 'string' && /^[0-9]+$/.test(raw) ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < s.min! || n > s.max!) {
        throw bad(source, key, `an integer ${s.min}..${s.max} (${s.unit})`, raw);
      }
      return n;
    }
    case 'network':
      if (typeof raw !== 'string' || !isNetworkName(raw)) throw bad(source, key, 'regtest, signet, testnet or mainnet', raw);
      return raw;
    case 'modes': {
      const list = typeof raw === 'string' ? raw.split(',').map((x) => x.trim()).filter((x) => x !== '') : raw;
      if (!Array.isArray(list) || list.length === 0 || !list.every((m) => MODES.includes(m as PaymentMode))) {
        throw bad(source, key, 'a non-empty list of sender-pays, recipient-pays', Array.isArray(raw) ? raw.join(',') : raw);
      }
      return [...new Set(list as PaymentMode[])];
    }
    case 'sync':
      if (raw !== 'FULL' && raw !== 'NORMAL') throw bad(source, key, 'FULL or NORMAL', raw);
      return raw;
    case 'level':
      if (typeof raw !== 'string' || !LEVELS.includes(raw)) throw bad(source, key, LEVELS.join(', '), raw);
      return raw;
    case 'bool':
      if (raw === true || raw === 'true' || raw === '1') return true;
      if (raw === false || raw === 'false' || raw === '0') return false;
      throw bad(source, key, 'true or false', raw);
    case 'strings': {
      const list = typeof raw === 'string' ? raw.split(',').map((x) => x.trim()).filter((x) => x !== '') : raw;
      if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' && x !== '')) throw bad(source, key, 'a list of non-empty strings', raw);
      return [...list];
    }
  }
}

function apply(into: Record<string, unknown>, input: ConfigInput, source: string): void {
  for (const [key, raw] of Object.entries(input)) {
    if (raw === undefined) continue;
    if (!Object.hasOwn(SETTINGS, key)) throw new RelayError('BAD_CONFIG', `${source}: unknown setting "${key}"`);
    into[key] = parseValue(key as keyof RelayConfig, raw, source);
  }
}

export const envName = (key: string): string => `SATPOST_RELAY_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

export interface ConfigSources {
  /** Settings under the file, env and flags: a program's own defaults (`satpost relay`: p2pPort 4848). */
  base?: ConfigInput;
  /** Path of a JSON object of settings. */
  file?: string;
  env?: Record<string, string | undefined>;
  flags?: ConfigInput;
}

/** Defaults < file < env < flags, then the cross-setting rules. */
export function loadConfig(sources: ConfigSources = {}): RelayConfig {
  const cfg: Record<string, unknown> = { ...DEFAULTS };
  if (sources.base) apply(cfg, sources.base, 'defaults');
  if (sources.file !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(sources.file, 'utf8'));
    } catch (cause) {
      throw new RelayError('BAD_CONFIG', `config file ${sources.file}: ${(cause as Error).message}`, { cause });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new RelayError('BAD_CONFIG', `config file ${sources.file}: expected a JSON object`);
    }
    apply(cfg, parsed as ConfigInput, `config file ${sources.file}`);
  }
  if (sources.env) {
    const fromEnv: ConfigInput = {};
    for (const key of Object.keys(SETTINGS)) {
      const v = sources.env[envName(key)];
      if (v !== undefined) fromEnv[key as keyof RelayConfig] = v;
    }
    apply(cfg, fromEnv, 'environment');
  }
  if (sources.flags) apply(cfg, sources.flags, 'command line');
  return finish(cfg as unknown as RelayConfig);
}

/** Derived defaults and rules that tie settings together. */
export function finish(cfg: RelayConfig): RelayConfig {
  const out = { ...cfg, acceptedModes: [...cfg.acceptedModes], bootstrap: [...cfg.bootstrap] };
  if (out.bodyLimitBytes === 0) out.bodyLimitBytes = out.maxMessageBytes + MAX_SEALED_HEADER + 8192;
  if (out.bodyLimitBytes < out.maxMessageBytes) {
    throw new RelayError('BAD_CONFIG', expected('bodyLimitBytes', `>= maxMessageBytes (${out.maxMessageBytes})`, out.bodyLimitBytes));
  }
  if (out.channelMinCapacitySats > out.channelMaxCapacitySats) {
    throw new RelayError('BAD_CONFIG', expected('channelMinCapacitySats', `<= channelMaxCapacitySats (${out.channelMaxCapacitySats})`, out.channelMinCapacitySats));
  }
  if (out.channelMinBlocks > out.channelMaxBlocks) {
    throw new RelayError('BAD_CONFIG', expected('channelMinBlocks', `<= channelMaxBlocks (${out.channelMaxBlocks})`, out.channelMinBlocks));
  }
  if (out.claimMarginBlocks >= out.lockBlocks) {
    throw new RelayError('BAD_CONFIG', expected('claimMarginBlocks', `< lockBlocks (${out.lockBlocks})`, out.claimMarginBlocks));
  }
  return out;
}

/** Longest retention the contract's timelock allows: it must end before T - claim margin. */
export function retentionCeilingSecs(cfg: RelayConfig): number {
  return Math.min(cfg.maxRetentionSecs, (cfg.lockBlocks - cfg.claimMarginBlocks) * cfg.blockIntervalSecs);
}

/**
 * base + perBlock x (size class / 16 KiB) + perDay x ceil(retention / 86400), in sats. Flat
 * per size class, so the amount on chain tells no more than the class; a size that is not a
 * class is priced as the class it falls in.
 */
export function priceOf(cfg: RelayConfig, size: number, retentionSecs: number): number {
  const blocks = Math.ceil((sizeClassFor(size) ?? size) / TEXT_SIZE_CLASS);
  return cfg.priceBaseSats + cfg.pricePerBlockSats * blocks + cfg.pricePerDaySats * Math.ceil(retentionSecs / 86400);
}
