/**
 * The user's relays: whether each answers, adding and removing one (config.json, then
 * public.json, then the prekeys published at the new set). The Client's relay methods call these.
 */
import { expected } from '../core/errors.ts';
import type { NetworkName } from '../core/network.ts';
import { assertSecureRelayUrl, normalizeRelayUrls, readConfig, type ClientConfig } from './config.ts';
import type { DataDir } from './datadir.ts';
import { ClientError } from './errors.ts';
import type { PublishResult } from './publish.ts';
import type { RelayClient } from './relay-client.ts';

/** What changing the relays needs of a client. */
export interface RelaySetting {
  dir: DataDir;
  /** The config in use: its relays array is changed in place (publishing, sending and listing share it). */
  config: ClientConfig;
  relayAt(url: string): RelayClient;
  publish(signal?: AbortSignal): Promise<PublishResult>;
  address(): string;
  writePublicInfo(): void;
}

/** One of the user's relays as `relayStatus` found it. */
export interface RelayStatus {
  url: string;
  reachable: boolean;
  relayId?: string;
  name?: string;
  error?: { code: string; message: string };
}

/** What addRelay/removeRelay did: the new set, the new address, and the publish at the new set. */
export interface RelayChange {
  relays: string[];
  address: string;
  published?: PublishResult;
  /** The prekeys could not be published (the change is saved; `satpost publish` retries). */
  publishError?: { code: string; message: string };
}

/** Asks each relay for its information document, in parallel; a relay of another network is NETWORK_MISMATCH. */
export async function checkRelays(urls: readonly string[], relayAt: (url: string) => RelayClient, signal?: AbortSignal, network?: NetworkName): Promise<RelayStatus[]> {
  return Promise.all(
    urls.map(async (url): Promise<RelayStatus> => {
      try {
        const info = await relayAt(url).info(signal);
        const net = (info as { network?: unknown }).network;
        if (network !== undefined && net !== undefined && net !== network) {
          return { url, reachable: false, error: { code: 'NETWORK_MISMATCH', message: expected('relay network', network, net) } };
        }
        const name = (info as { name?: unknown }).name;
        return { url, reachable: true, relayId: info.relayId, ...(typeof name === 'string' && name !== '' ? { name } : {}) };
      } catch (err) {
        if (signal?.aborted) throw err;
        const e = err as { code?: string; message?: string };
        return { url, reachable: false, error: { code: e.code ?? 'INTERNAL', message: e.message ?? String(err) } };
      }
    }),
  );
}

/**
 * Adds a relay to config.json: the URL is checked (BAD_RELAY_URL, INSECURE_RELAY_URL outside
 * regtest, RELAY_EXISTS), the relay must answer its information document on this network
 * (RELAY_UNREACHABLE, BAD_RELAY_ANSWER, NETWORK_MISMATCH) before anything is saved; then the
 * prekeys are published to the new set and the new address (its hints) is returned.
 */
export async function addRelay(c: RelaySetting, url: string, signal?: AbortSignal): Promise<RelayChange> {
  const [canonical] = normalizeRelayUrls([url]);
  assertSecureRelayUrl(canonical!, c.config.network, c.config.proxy !== undefined);
  if (c.config.relays.includes(canonical!)) throw new ClientError('RELAY_EXISTS', `${canonical} is already one of your relays`);
  const [status] = await checkRelays([canonical!], c.relayAt, signal, c.config.network);
  if (!status!.reachable) {
    const err = new ClientError(
      status!.error!.code === 'NETWORK_MISMATCH' || status!.error!.code === 'BAD_RELAY_ANSWER' ? status!.error!.code : 'RELAY_UNREACHABLE',
      `relay ${canonical} did not answer its information document (/.well-known/satpost): ${status!.error!.message}; nothing was changed`,
    );
    err.relay = canonical!;
    throw err;
  }
  return changeRelays(c, [...c.config.relays, canonical!], signal);
}

/** Removes a relay from config.json (UNKNOWN_RELAY, LAST_RELAY), publishes the prekeys to the rest, returns the new address. */
export async function removeRelay(c: RelaySetting, url: string, signal?: AbortSignal): Promise<RelayChange> {
  const [canonical] = normalizeRelayUrls([url]);
  if (!c.config.relays.includes(canonical!)) throw new ClientError('UNKNOWN_RELAY', `${canonical} is not one of your relays (${c.config.relays.join(', ') || 'none'})`);
  if (c.config.relays.length === 1) throw new ClientError('LAST_RELAY', `${canonical} is your only relay: nobody could reach you without one`);
  return changeRelays(c, c.config.relays.filter((r) => r !== canonical), signal);
}

/** Saves `relays` (config.json as on disk, only its relays changed), then public.json, then publishes. */
async function changeRelays(c: RelaySetting, relays: string[], signal?: AbortSignal): Promise<RelayChange> {
  const saved = readConfig(c.dir);
  c.dir.writeConfig({ ...saved, relays });
  // ctx.relays is the same array: publishing, sending and listing see the new set at once.
  c.config.relays.splice(0, c.config.relays.length, ...relays);
  c.writePublicInfo();
  let published: PublishResult | undefined;
  let publishError: { code: string; message: string } | undefined;
  try {
    published = await c.publish(signal);
  } catch (err) {
    if (signal?.aborted) throw err;
    const e = err as { code?: string; message?: string };
    publishError = { code: e.code ?? 'INTERNAL', message: e.message ?? String(err) };
  }
  return { relays: [...relays], address: c.address(), ...(published ? { published } : {}), ...(publishError ? { publishError } : {}) };
}
