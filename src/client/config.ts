/**
 * `<dir>/config.json`: the user's settings, readable and editable by hand.
 *
 *   {
 *     "version": 1,                          format version of this file
 *     "network": "regtest",                  regtest | signet | testnet | mainnet; fixed at init
 *     "chainUrl": "http://127.0.0.1:3002",   Esplora API root (a `satpost devnet` or a public one)
 *     "relays": ["http://127.0.0.1:8090/"],  the user's relays, canonical URLs; the first four are
 *                                            the hints in her satpost address
 *     "proxy": "socks5h://127.0.0.1:9050"    optional: every connection goes through this SOCKS5 proxy (Tor)
 *   }
 *
 * Outside regtest every relay and chain URL must be https (http only to a .onion host with a proxy).
 *
 * Its presence is what makes a data directory initialized: init writes it last.
 */
import { expected } from '../core/errors.ts';
import { isNetworkName, type NetworkName } from '../core/network.ts';
import { AddressError, normalizeHints } from '../identity/address.ts';
import { ClientError } from './errors.ts';
import { readJsonFile, type DataDir } from './datadir.ts';
import { isAcceptableUrl } from '../net/transport.ts';
import { ProxyError, parseProxyUrl } from '../net/socks5.ts';

export const CONFIG_VERSION = 1;

export interface ClientConfig {
  version: typeof CONFIG_VERSION;
  network: NetworkName;
  chainUrl: string;
  relays: string[];
  /** `socks5h://host:port`: every client connection goes through it. */
  proxy?: string;
}

/** Esplora roots used when init is given no chain URL. regtest: `satpost devnet`'s default port. */
export const DEFAULT_CHAIN_URLS: Record<NetworkName, string> = {
  regtest: 'http://127.0.0.1:3002',
  signet: 'https://mempool.space/signet/api',
  testnet: 'https://blockstream.info/testnet/api',
  mainnet: 'https://blockstream.info/api',
};

export function checkNetwork(network: unknown): NetworkName {
  if (typeof network !== 'string' || !isNetworkName(network)) {
    throw new ClientError('NETWORK_MISMATCH', expected('network', 'regtest, signet, testnet or mainnet', network));
  }
  return network;
}

/** An http(s) URL without credentials, trailing slashes removed (EsploraBackend appends paths). */
export function normalizeChainUrl(url: unknown): string {
  if (typeof url !== 'string') throw new ClientError('BAD_CHAIN_URL', expected('chain URL', 'a string', typeof url));
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ClientError('BAD_CHAIN_URL', expected('chain URL', 'an absolute http(s) URL', url));
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ClientError('BAD_CHAIN_URL', expected('chain URL scheme', 'http or https', u.protocol));
  if (u.username || u.password) throw new ClientError('BAD_CHAIN_URL', expected('chain URL', 'a URL without credentials', url));
  return u.href.replace(/\/+$/, '');
}

/** Each relay URL in the canonical form addresses carry; duplicates dropped, order kept. */
export function normalizeRelayUrls(urls: readonly unknown[]): string[] {
  const out: string[] = [];
  for (const url of urls) {
    let canonical: string;
    try {
      canonical = normalizeHints([url as string])[0]!;
    } catch (e) {
      if (e instanceof AddressError) throw new ClientError('BAD_RELAY_URL', e.message.replace('relay hint', 'relay URL'), { cause: e });
      throw e;
    }
    if (!out.includes(canonical)) out.push(canonical);
  }
  return out;
}

/** A proxy URL as given (BAD_PROXY_URL unless socks5h://host:port, or socks5:// treated alike). */
export function checkProxy(proxy: unknown): string {
  if (typeof proxy !== 'string') throw new ClientError('BAD_PROXY_URL', expected('proxy', 'a socks5h://host:port URL', typeof proxy));
  try {
    parseProxyUrl(proxy);
  } catch (e) {
    if (ProxyError.is(e)) throw new ClientError('BAD_PROXY_URL', e.message, { cause: e });
    throw e;
  }
  return proxy;
}

/** INSECURE_RELAY_URL unless `url` may carry mailbox logins and messages on `network` (see isAcceptableUrl). */
export function assertSecureRelayUrl(url: string, network: NetworkName, proxied: boolean): void {
  if (!isAcceptableUrl(url, network, proxied)) {
    throw new ClientError('INSECURE_RELAY_URL', `relay URL ${url}: ${network} needs https (plain http only to a .onion host through a proxy)`);
  }
}

/** INSECURE_CHAIN_URL unless `url` may carry the wallet's chain queries on `network`. */
export function assertSecureChainUrl(url: string, network: NetworkName, proxied: boolean): void {
  if (!isAcceptableUrl(url, network, proxied)) {
    throw new ClientError('INSECURE_CHAIN_URL', `chain URL ${url}: ${network} needs https (plain http only to a .onion host through a proxy)`);
  }
}

export function makeConfig(o: { network: unknown; chainUrl?: string | undefined; relays?: readonly unknown[] | undefined; proxy?: unknown }): ClientConfig {
  const network = checkNetwork(o.network);
  const proxy = o.proxy === undefined ? undefined : checkProxy(o.proxy);
  const config: ClientConfig = {
    version: CONFIG_VERSION,
    network,
    chainUrl: normalizeChainUrl(o.chainUrl ?? DEFAULT_CHAIN_URLS[network]),
    relays: normalizeRelayUrls(o.relays ?? []),
    ...(proxy !== undefined ? { proxy } : {}),
  };
  assertSecureChainUrl(config.chainUrl, network, proxy !== undefined);
  for (const r of config.relays) assertSecureRelayUrl(r, network, proxy !== undefined);
  return config;
}

/** Validates a parsed config.json; `where` names the file in messages. */
export function parseConfig(json: unknown, where: string): ClientConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ClientError('BAD_CONFIG', expected(where, 'a JSON object', Array.isArray(json) ? 'an array' : String(json)));
  }
  const c = json as Record<string, unknown>;
  if (c.version !== CONFIG_VERSION) throw new ClientError('BAD_CONFIG', expected(`${where} "version"`, String(CONFIG_VERSION), c.version));
  if (typeof c.chainUrl !== 'string') throw new ClientError('BAD_CONFIG', expected(`${where} "chainUrl"`, 'an Esplora URL', c.chainUrl));
  if (!Array.isArray(c.relays)) throw new ClientError('BAD_CONFIG', expected(`${where} "relays"`, 'an array of URLs', c.relays));
  try {
    return makeConfig({ network: c.network, chainUrl: c.chainUrl, relays: c.relays, ...(c.proxy !== undefined ? { proxy: c.proxy } : {}) });
  } catch (e) {
    // An insecure URL keeps its own code: the fix is https (or a proxy for .onion), not the file's syntax.
    if (ClientError.is(e, 'INSECURE_RELAY_URL') || ClientError.is(e, 'INSECURE_CHAIN_URL')) throw e;
    if (e instanceof ClientError) throw new ClientError('BAD_CONFIG', `${where}: ${e.message}`, { cause: e });
    throw e;
  }
}

/**
 * `dir`'s config.json. Here, not a method of DataDir: the URL and proxy checks it runs load the
 * network code, which `satpost address` (DataDir and public.json only) must not pay for.
 */
export function readConfig(dir: DataDir): ClientConfig {
  const path = dir.file('config');
  return parseConfig(readJsonFile(path, false), path);
}
