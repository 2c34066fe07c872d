/**
 * One request, one response per stream: the requester writes its message and closes its
 * writable end; the responder reads to that end, writes its answer and closes. No framing
 * is needed because each side's end-of-stream delimits its message. Every read is bounded
 * (TOO_LARGE) and every call takes an AbortSignal that resets the stream.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import type { RelayLibp2p } from './node.ts';
import { P2pError } from './errors.ts';

async function readAll(stream: Stream, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  const onAbort = (): void => stream.abort(new P2pError('PEER_FAILED', 'aborted'));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal?.aborted) throw new P2pError('PEER_FAILED', 'aborted');
    for await (const chunk of stream) {
      const b = chunk instanceof Uint8Array ? chunk : chunk.subarray();
      total += b.length;
      if (total > maxBytes) {
        stream.abort(new P2pError('TOO_LARGE', `message exceeds ${maxBytes} bytes`));
        throw new P2pError('TOO_LARGE', `"message" expected at most ${maxBytes} bytes, got more`);
      }
      parts.push(b);
    }
    if (signal?.aborted) throw new P2pError('PEER_FAILED', 'aborted');
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Sends `request` to `peer` on `protocol` and returns the response bytes. Any failure (dial,
 * reset, peer gone, abort, oversize) is a P2pError: PEER_FAILED or TOO_LARGE.
 */
export async function request(
  libp2p: RelayLibp2p,
  peer: PeerId,
  protocol: string,
  req: Uint8Array,
  opts: { maxResponse: number; signal?: AbortSignal },
): Promise<Uint8Array> {
  let stream: Stream | undefined;
  try {
    stream = await libp2p.dialProtocol(peer, protocol, { signal: opts.signal });
    stream.send(req);
    await stream.close({ signal: opts.signal });
    return await readAll(stream, opts.maxResponse, opts.signal);
  } catch (e) {
    stream?.abort(e instanceof Error ? e : new Error(String(e)));
    if (P2pError.is(e, 'TOO_LARGE')) throw e;
    throw new P2pError('PEER_FAILED', `${protocol} to ${peer.toString()} failed: ${(e as Error)?.message ?? e}`, { cause: e });
  }
}

/** Registers a request handler; a throwing handler resets the stream (the requester sees PEER_FAILED). */
export async function serve(
  libp2p: RelayLibp2p,
  protocol: string,
  maxRequest: number,
  handler: (req: Uint8Array, from: PeerId, connection: Connection) => Promise<Uint8Array>,
): Promise<void> {
  await libp2p.handle(
    protocol,
    async (stream, connection) => {
      try {
        const req = await readAll(stream, maxRequest);
        const res = await handler(req, connection.remotePeer, connection);
        stream.send(res);
        await stream.close();
      } catch (e) {
        stream.abort(e instanceof Error ? e : new Error(String(e)));
      }
    },
    // Queries fan in from every neighbour; each is short-lived.
    { maxInboundStreams: 256, maxOutboundStreams: 256 },
  );
}
