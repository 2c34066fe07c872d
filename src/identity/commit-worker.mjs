// The body of the SQLite commit worker started by commit-writer.ts. Plain JavaScript on
// purpose: worker threads do not inherit tsx's programmatic register() (bin/satpost.js), so a
// .ts worker would not load there.
//
// It owns its own better-sqlite3 connection to the same WAL file and applies each batch it is
// sent as ONE transaction, so the fsync of a commit blocks this thread, not the main one.
//
// workerData: { path, keying: string[] (the data key's statements, see keyStatements in
//               src/store/sqlite.ts; empty for a plaintext file), synchronous ('FULL' | 'NORMAL' | 'OFF'), statements: string[],
//               acks: MessagePort, state: SharedArrayBuffer (Int32Array [acks sent, exited]) }
// message in: { seq, rows: [statementIndex, ...params][] } | { close: true }
// ack out (on `acks`, in seq order): { seq } | { seq, error: { message, code } }
// Batches that queued up during a commit are applied together in the next transaction (one
// fsync for all), and all of them fail together if it fails.
// After posting each ack, state[0] is incremented and notified, so the main thread can wait for
// acks synchronously (Atomics.wait + receiveMessageOnPort) when it must.
import process from 'node:process';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3-multiple-ciphers';

const { path, keying, synchronous, statements, acks } = workerData;
const state = new Int32Array(workerData.state);

const db = new Database(path);
for (const sql of keying) db.exec(sql);
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${synchronous}`);
db.pragma('busy_timeout = 5000');
const prepared = statements.map((sql) => db.prepare(sql));
const apply = db.transaction((rows) => {
  for (const [i, ...params] of rows) prepared[i].run(...params);
});

function ack(message) {
  acks.postMessage(message);
  Atomics.add(state, 0, 1);
  Atomics.notify(state, 0);
}

process.on('exit', () => {
  Atomics.store(state, 1, 1);
  Atomics.notify(state, 0);
});

parentPort.on('message', (first) => {
  const batches = [first];
  for (let m = receiveMessageOnPort(parentPort); m; m = receiveMessageOnPort(parentPort)) batches.push(m.message);
  const closing = batches.some((b) => b.close);
  const work = batches.filter((b) => !b.close);
  if (work.length > 0) {
    try {
      apply(work.flatMap((b) => b.rows));
      for (const b of work) ack({ seq: b.seq });
    } catch (e) {
      const error = { message: e instanceof Error ? e.message : String(e), code: e?.code ?? null };
      for (const b of work) ack({ seq: b.seq, error });
    }
  }
  if (closing) {
    db.close();
    parentPort.close();
    acks.close();
  }
});
