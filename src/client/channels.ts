/**
 * The payer's channels with relays (SDK): open one with a relay's fresh key, pay a message with
 * an HTLC, take the relay's settles (k, r checked against the hashes by the payer's core before
 * anything is signed), and close cooperatively. Every state is committed by PayerChannels before
 * its message leaves, so a lost answer is repaired by sending `lastSent` again.
 *
 * Talks to the relay routes of docs/relay-api.md "Channels" over HTTP.
 */
import { hex } from '@scure/base';
import { decodeChannelMessage, type AddHtlc, type CloseRequest, type NewHtlc, type SettleHtlc } from '../channels/index.ts';
import { encodeChannelMessage, type ChannelRecord } from '../watch/channel-book.ts';
import type { PayerChannels } from '../watch/channel-payer.ts';
import { ClientError, type ClientErrorCode } from './errors.ts';

/** A channel as `channel list` shows it. */
export interface ChannelSummary {
  id: string;
  relay: string;
  status: string;
  capacity: number;
  /** Sats settled to the relay. */
  relayBalance: number;
  /** Sats still the payer's (before the close fee). */
  payerBalance: number;
  inFlight: number;
  inFlightSats: number;
  /** T_ch, block height. */
  expiry: number;
}

export interface ChannelOpenOptions {
  sats: number;
  /** Channel life in blocks (T_ch = tip + blocks); default 1008. */
  blocks?: number;
  claimMargin?: number;
  feeRate?: number;
}

export const DEFAULT_CHANNEL_BLOCKS = 1008;

/** Channel ids by relay URL: kept by the caller (the client's config store); here a map in memory. */
export class ClientChannels {
  private readonly relays = new Map<string, string>();

  constructor(private readonly payer: PayerChannels, private readonly tip: () => Promise<number>) {}

  /** Opens a channel to `relayUrl`: fresh relay key, funding built and broadcast, the relay told. */
  async open(relayUrl: string, o: ChannelOpenOptions): Promise<ChannelSummary> {
    const url = relayUrl.replace(/\/+$/, '');
    const info = await call<{ channels?: { minClaimMarginBlocks?: number; minCapacitySats?: number; maxCapacitySats?: number } }>(url, 'GET', '/.well-known/satpost');
    const t = info.channels;
    if (!t) throw new ClientError('CHANNELS_UNAVAILABLE', `relay ${url} takes no payment channels`);
    // Checked before the wallet funds anything: a refused open would leave a funded, unusable channel.
    if (o.sats < (t.minCapacitySats ?? 0) || o.sats > (t.maxCapacitySats ?? Infinity)) {
      throw new ClientError('CHANNEL_TERMS', `relay ${url} takes channels of ${t.minCapacitySats}..${t.maxCapacitySats} sats, not ${o.sats}`);
    }
    const key = await call<{ keyIndex: number; relayPubkey: string }>(url, 'POST', '/v1/channel/key', {});
    const claimMargin = o.claimMargin ?? t.minClaimMarginBlocks ?? 12;
    const { channel, message } = await this.payer.open({
      relayPubkey: hex.decode(key.relayPubkey), capacity: o.sats, channelLocktime: (await this.tip()) + (o.blocks ?? DEFAULT_CHANNEL_BLOCKS),
      claimMargin, feeRate: o.feeRate ?? 2,
    });
    await call(url, 'POST', '/v1/channel/open', { open: hex.encode(encodeChannelMessage({ type: 'open', message })), funding: hex.encode(channel.fundingRaw!), keyIndex: key.keyIndex });
    this.relays.set(channel.id, url);
    return this.summary(this.payer.book.get(channel.id));
  }

  /** Remembers which relay a channel is with (after a restart). */
  attach(channelId: string, relayUrl: string): void {
    this.relays.set(channelId, relayUrl.replace(/\/+$/, ''));
  }

  list(): ChannelSummary[] {
    return this.payer.book.list('payer').map((c) => this.summary(c));
  }

  /** An open channel with `relayUrl` whose payer side covers `amount` (fee headroom left to the core's check). */
  usable(relayUrl: string, amount: number): ChannelSummary | undefined {
    const url = relayUrl.replace(/\/+$/, '');
    return this.list().find((c) => c.relay === url && c.status === 'open' && c.payerBalance > amount);
  }

  /** Adds the HTLC paying one message; a settle in the relay's answer (recipient-pays) is taken at once. */
  async pay(channelId: string, terms: NewHtlc): Promise<{ add: AddHtlc; k?: Uint8Array }> {
    const add = await this.payer.add(channelId, terms);
    const ans = await this.update(channelId, encodeChannelMessage({ type: 'add', message: add }));
    if (typeof ans.settle !== 'string') return { add };
    const s = decodeChannelMessage(hex.decode(ans.settle));
    if (s.type !== 'settle') throw new ClientError('BAD_RELAY_ANSWER', 'the add answer carried no SettleHtlc');
    await this.takeSettle(channelId, s.message);
    return { add, k: s.message.k };
  }

  /** Takes every settle the relay has not seen acknowledged; resolves the htlc ids settled. */
  async sync(channelId: string): Promise<number[]> {
    const url = this.relayOf(channelId);
    const out = await call<{ settles: string[] }>(url, 'GET', `/v1/channel/${channelId}/settles`);
    const ids: number[] = [];
    for (const h of out.settles) {
      const s = decodeChannelMessage(hex.decode(h));
      if (s.type !== 'settle') throw new ClientError('BAD_RELAY_ANSWER', 'a pending settle that is no SettleHtlc');
      await this.takeSettle(channelId, s.message);
      ids.push(s.message.htlcId);
    }
    return ids;
  }

  /** Cooperative close: settles first, then the relay's CloseRequest signed and sent back. */
  async close(channelId: string): Promise<ChannelSummary> {
    await this.sync(channelId);
    const url = this.relayOf(channelId);
    const { closeRequest } = await call<{ closeRequest: string }>(url, 'POST', `/v1/channel/${channelId}/close`, {});
    const req = decodeChannelMessage(hex.decode(closeRequest));
    if (req.type !== 'close-request') throw new ClientError('BAD_RELAY_ANSWER', 'the close answer carried no CloseRequest');
    const signed = await this.payer.onCloseRequest(req.message as CloseRequest);
    await this.update(channelId, encodeChannelMessage({ type: 'close-signed', message: signed }));
    return this.summary(this.payer.book.get(channelId));
  }

  private async takeSettle(channelId: string, s: SettleHtlc): Promise<void> {
    const ack = await this.payer.onSettle(s);
    await this.update(channelId, encodeChannelMessage({ type: 'settle-ack', message: ack }));
  }

  private update(channelId: string, bytes: Uint8Array): Promise<{ settle?: unknown }> {
    return call(this.relayOf(channelId), 'POST', '/v1/channel/update', bytes);
  }

  private relayOf(channelId: string): string {
    const url = this.relays.get(channelId);
    if (!url) throw new ClientError('NO_RELAYS', `no relay is known for channel ${channelId}`);
    return url;
  }

  private summary(c: ChannelRecord): ChannelSummary {
    const s = c.state;
    const inFlightSats = s.inFlight.reduce((a, h) => a + h.amount, 0);
    return {
      id: c.id, relay: this.relays.get(c.id) ?? '', status: c.status, capacity: s.capacity, relayBalance: s.relayBalance,
      payerBalance: s.capacity - s.relayBalance - inFlightSats, inFlight: s.inFlight.length, inFlightSats, expiry: s.channelLocktime,
    };
  }
}

async function call<T>(url: string, method: string, path: string, body?: unknown): Promise<T> {
  const binary = body instanceof Uint8Array;
  let res: Response;
  try {
    res = await fetch(url + path, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': binary ? 'application/octet-stream' : 'application/json' }, body: binary ? Buffer.from(body) : JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (cause) {
    throw new ClientError('RELAY_UNREACHABLE', `cannot reach relay ${url}: ${(cause as Error).message}`, { cause });
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new ClientError('BAD_RELAY_ANSWER', `relay ${url}: expected a JSON answer to ${path}`, { cause });
  }
  if (res.ok) return parsed as T;
  const e = (parsed as { error?: { code?: unknown; message?: unknown } }).error;
  const err = new ClientError((typeof e?.code === 'string' ? e.code : 'BAD_RELAY_ANSWER') as ClientErrorCode, `relay ${url}: ${typeof e?.message === 'string' ? e.message : `HTTP ${res.status}`}`);
  err.relay = url;
  throw err;
}
