/**
 * The streaming path, WebSocket at /v1/stream (frames: src/relay/wire.ts). Many requests
 * may be in flight per connection; each is answered on its own, a deposit only after its
 * group commit. A subscribe request (a list of tags) makes the connection receive the id and
 * tag of every new message stored under one of them.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { hex } from '@scure/base';
import type { Logger } from 'pino';
import { DepositCodec, MAX_QUERY_TAGS, OfferCodec, PaymentNoticeCodec, QuoteCodec } from '../core/objects/index.ts';
import type { RelayConfig } from './config.ts';
import { RelayError } from './errors.ts';
import { toRelayError, unlockAnswer } from './http.ts';
import type { RateLimiter } from './rate-limit.ts';
import { RELAY_VERSION, checkTags } from './service.ts';
import type { RelayService } from './service.ts';
import { OP, STATUS, frame, parseFrame } from '../core/wire/stream.ts';
import type { RelayChannelService } from './channels.ts';
import type { RelayStore } from './store.ts';
import { encodeChannelMessage } from '../channels/index.ts';

export const STREAM_PATH = '/v1/stream';

interface Conn {
  ws: WebSocket;
  /** The upgraded TCP socket: corked while a burst of answers is written (one syscall, not one per frame). */
  socket: Duplex;
  corked: boolean;
  ip: string;
  inFlight: number;
  subscriptions: Map<string, number>;
  /** channel id -> the watch request's id (SettleHtlc events). */
  channelWatches: Map<string, number>;
}

/** Tags one stream connection may follow: four full queries' worth. */
export const MAX_STREAM_TAGS = 4 * MAX_QUERY_TAGS;

export class StreamServer {
  private readonly wss: WebSocketServer;
  private readonly conns = new Set<Conn>();
  /** mailbox hex -> connections and the request id their events carry. */
  private readonly subscribers = new Map<string, Set<Conn>>();
  private accepting = true;
  private inFlight = 0;
  /** Connections corked in this turn; uncorked together once the turn's answers are written. */
  private corked: Conn[] = [];
  private readonly uncorkAll = (): void => {
    for (const c of this.corked.splice(0)) {
      c.corked = false;
      c.socket.uncork();
    }
  };
  private idleWaiters: (() => void)[] = [];
  private readonly unsubscribeStored: () => void;
  private readonly onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

  constructor(
    private readonly server: Server,
    private readonly deps: { config: RelayConfig; service: RelayService; limiter: RateLimiter; log: Logger; channels?: RelayChannelService; store?: RelayStore },
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: deps.config.bodyLimitBytes });
    this.onUpgrade = (req, socket, head) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== STREAM_PATH || !this.accepting) {
        socket.end(`HTTP/1.1 ${this.accepting ? '404 Not Found' : '503 Service Unavailable'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.attach(ws, socket, req.socket.remoteAddress ?? 'unknown'));
    };
    server.on('upgrade', this.onUpgrade);
    const offStored = deps.service.onStored((mailbox, id) => this.publish(mailbox, id));
    const offSettle = deps.channels?.onSettle((s) => {
      const bytes = encodeChannelMessage({ type: 'settle', message: s });
      for (const c of this.conns) {
        const rid = c.channelWatches.get(s.channelId);
        if (rid !== undefined) this.send(c, rid, STATUS.event, bytes);
      }
    });
    this.unsubscribeStored = () => { offStored(); offSettle?.(); };
  }

  get connections(): number {
    return this.conns.size;
  }

  private attach(ws: WebSocket, socket: Duplex, ip: string): void {
    const conn: Conn = { ws, socket, corked: false, ip, inFlight: 0, subscriptions: new Map(), channelWatches: new Map() };
    this.conns.add(conn);
    ws.on('message', (data: RawData, isBinary: boolean) => this.onFrame(conn, data, isBinary));
    ws.on('close', () => this.detach(conn));
    ws.on('error', () => this.detach(conn));
  }

  private detach(conn: Conn): void {
    this.conns.delete(conn);
    for (const mailbox of conn.subscriptions.keys()) {
      const set = this.subscribers.get(mailbox);
      set?.delete(conn);
      if (set?.size === 0) this.subscribers.delete(mailbox);
    }
  }

  private send(conn: Conn, id: number, status: number, payload: Uint8Array): void {
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    // Answers come in bursts (a group commit resolves many deposits in one turn): cork
    // until the turn's microtasks are done, so a connection's answers leave in one write.
    if (!conn.corked) {
      conn.corked = true;
      conn.socket.cork();
      if (this.corked.push(conn) === 1) process.nextTick(this.uncorkAll);
    }
    conn.ws.send(frame(id, status, payload));
  }

  private refuse(conn: Conn, id: number, err: unknown): void {
    const e = toRelayError(err, this.deps.log);
    this.send(conn, id, STATUS.error, Buffer.from(JSON.stringify(e.body())));
  }

  private onFrame(conn: Conn, data: RawData, isBinary: boolean): void {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const f = isBinary ? parseFrame(bytes) : undefined;
    if (f === undefined) {
      conn.ws.close(1003, 'expected binary frames: id u32 | op u8 | payload');
      return;
    }
    if (!this.accepting) return this.refuse(conn, f.id, new RelayError('SHUTTING_DOWN', 'the relay is shutting down'));
    if (!this.deps.limiter.take(conn.ip)) return this.refuse(conn, f.id, new RelayError('RATE_LIMITED', 'too many requests'));
    if (conn.inFlight >= this.deps.config.streamMaxInFlight) {
      return this.refuse(conn, f.id, new RelayError('STREAM_BUSY', `at most ${this.deps.config.streamMaxInFlight} requests in flight per connection`));
    }
    conn.inFlight++;
    this.inFlight++;
    this.dispatch(conn, f.id, f.code, f.payload)
      .then(
        (answer) => this.send(conn, f.id, STATUS.ok, answer),
        (err: unknown) => this.refuse(conn, f.id, err),
      )
      .finally(() => {
        conn.inFlight--;
        if (--this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
  }

  private async dispatch(conn: Conn, requestId: number, op: number, payload: Uint8Array): Promise<Uint8Array> {
    const { service } = this.deps;
    switch (op) {
      case OP.deposit:
        return (await service.deposit(DepositCodec.decode(payload), payload, conn.ip)).encoded;
      case OP.quote:
        return QuoteCodec.encode(await service.quote(OfferCodec.decode(payload), conn.ip));
      case OP.challenge:
        throw new RelayError('PROTOCOL_UPGRADED', `mailbox challenges ended with satpost 0.1; this relay (satpost ${RELAY_VERSION}) addresses messages by per-message tags: upgrade the client`);
      case OP.subscribe: {
        // Tags, 32 bytes each: events for messages stored under them from now on (id || tag).
        if (payload.length === 0 || payload.length % 32 !== 0) throw new RelayError('BAD_REQUEST', 'a subscribe payload is 1 or more 32-byte tags');
        const tags = [];
        for (let at = 0; at < payload.length; at += 32) tags.push(payload.subarray(at, at + 32));
        checkTags(tags);
        const fresh = tags.map((t) => hex.encode(t)).filter((k) => !conn.subscriptions.has(k));
        if (conn.subscriptions.size + fresh.length > MAX_STREAM_TAGS) throw new RelayError('BAD_REQUEST', `at most ${MAX_STREAM_TAGS} tags per connection`);
        for (const key of fresh) {
          let set = this.subscribers.get(key);
          if (set === undefined) this.subscribers.set(key, (set = new Set()));
          set.add(conn);
          conn.subscriptions.set(key, requestId);
        }
        return new Uint8Array(0);
      }
      case OP.unlock: {
        let out;
        if (payload.length === 32) out = await service.unlock({ id: payload.slice() });
        else if (payload.length === 64) out = await service.unlock({ id: payload.slice(0, 32), r: payload.slice(32) });
        else {
          const notice = PaymentNoticeCodec.decode(payload);
          out = await service.unlock({ id: notice.messageId, notice });
        }
        return Buffer.from(JSON.stringify(unlockAnswer(out)));
      }
      case OP.channelUpdate: {
        const ch = this.channelsOrRefuse();
        return Buffer.from(JSON.stringify(await ch.update(payload.slice(), this.deps.store!)));
      }
      case OP.channelWatch: {
        const ch = this.channelsOrRefuse();
        const id = hex.encode(payload);
        const pending = ch.settles(id);
        conn.channelWatches.set(id, requestId);
        // After the ok answer: the unacknowledged settles, then each new one as it is made.
        setImmediate(() => {
          for (const s of pending) this.send(conn, requestId, STATUS.event, encodeChannelMessage({ type: 'settle', message: s }));
        });
        return new Uint8Array(0);
      }
      default:
        throw new RelayError('BAD_REQUEST', `"op" expected 1..7, got ${op}`);
    }
  }

  private channelsOrRefuse(): RelayChannelService {
    if (!this.deps.channels || !this.deps.store) throw new RelayError('CHANNELS_UNAVAILABLE', 'this relay has no chain backend, so it takes no payment channels');
    return this.deps.channels;
  }

  private publish(tag: Uint8Array, id: Uint8Array): void {
    const key = hex.encode(tag);
    const subs = this.subscribers.get(key);
    if (subs === undefined) return;
    const event = Buffer.concat([id, tag]);
    for (const conn of subs) this.send(conn, conn.subscriptions.get(key)!, STATUS.event, event);
  }

  /** Stops taking new connections and requests; already accepted requests still get answers. */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Resolves when every accepted request has been answered. */
  idle(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Closes every connection (1001 going away) and detaches from the HTTP server. */
  close(): Promise<void> {
    this.unsubscribeStored();
    this.server.off('upgrade', this.onUpgrade);
    for (const c of this.conns) c.ws.close(1001, 'relay shutting down');
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }
}
