// follow(): watching again after a watch ends, and a relay that hangs up before answering a
// subscription. The watches here are scripted generators (a stand-in for Client.watch, whose
// real path across a relay restart is test/cli/watch.test.ts); the subscription is refused by
// a real WebSocket server on loopback.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { follow, type FollowPause, type WatchOptions } from '../../src/client/follow.ts';
import { ClientError } from '../../src/client/errors.ts';
import { RelayClient } from '../../src/client/relay-client.ts';
import type { InboxEntry } from '../../src/client/receive.ts';

const entry = (id: string) => ({ id }) as unknown as InboxEntry;

/** Watches that do, in turn, what `script` says: yield entries then end, or throw. */
function scripted(script: (InboxEntry[] | Error)[]) {
  const seen: WatchOptions[] = [];
  let at = 0;
  const watch = async function* (o: WatchOptions): AsyncGenerator<InboxEntry> {
    seen.push(o);
    const step = script[at++];
    // Past the script: a watch that stays open until aborted (Client.watch then ends quietly).
    if (step === undefined) return await new Promise<void>((resolve) => o.signal?.addEventListener('abort', () => resolve()));
    if (step instanceof Error) throw step;
    yield* step;
  };
  return { watch, seen, calls: () => at };
}

describe('follow', () => {
  it('watches again after each end, the pause doubling, back to the shortest once entries come', async () => {
    const ac = new AbortController();
    const w = scripted([[], new ClientError('RELAY_UNREACHABLE', 'connect ECONNREFUSED'), new ClientError('SHUTTING_DOWN', 'stopping'), [entry('a'), entry('b')], []]);
    const pauses: FollowPause[] = [];
    const got: string[] = [];
    for await (const e of follow(w.watch, { signal: ac.signal, onPause: (p) => pauses.push(p), minPauseMs: 1, maxPauseMs: 4 })) {
      got.push(e.id);
      if (got.length === 2) setImmediate(() => ac.abort());
    }
    assert.deepEqual(got, ['a', 'b']);
    assert.deepEqual(pauses.map((p) => [p.why, p.pauseMs, (p.error as ClientError | undefined)?.code]), [
      ['closed', 1, undefined],
      ['trouble', 2, 'RELAY_UNREACHABLE'],
      ['trouble', 4, 'SHUTTING_DOWN'],
      ['closed', 1, undefined], // entries came: the next drop starts from the shortest pause
    ]);
    // Every watch got the caller's signal, never follow's own options.
    for (const o of w.seen) {
      assert.equal(o.signal, ac.signal);
      assert.equal('onPause' in o, false);
    }
  });

  it('ends with an error that is not the relays\' passing trouble, and ends quietly on abort', async () => {
    const w = scripted([[], new ClientError('CLIENT_CLOSED', 'closed')]);
    const drain = async (it: AsyncIterable<InboxEntry>) => { for await (const _ of it); };
    await assert.rejects(drain(follow(w.watch, { minPauseMs: 1 })), (err: unknown) => ClientError.is(err, 'CLIENT_CLOSED'));
    assert.equal(w.calls(), 2);

    const ac = new AbortController();
    const waiting = scripted([]);
    const done = drain(follow(waiting.watch, { signal: ac.signal }));
    ac.abort();
    await done;
    assert.equal(waiting.calls(), 1);
  });

  it('a relay that closes the connection before answering the subscription is unreachable, not a wait without end', async () => {
    const server = createServer();
    const wss = new WebSocketServer({ server });
    let closed = 0;
    wss.on('connection', (ws) => ws.on('message', () => { closed++; ws.close(1001, 'going away'); }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const rc = new RelayClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      await assert.rejects(rc.subscribe([new Uint8Array(32)], () => undefined), (err: unknown) => ClientError.is(err, 'RELAY_UNREACHABLE') && /before subscribing/.test((err as Error).message));
      assert.equal(closed, 1);
    } finally {
      wss.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
