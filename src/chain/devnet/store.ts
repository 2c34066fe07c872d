/**
 * The devnet's SQLite file. One writer (the Devnet object); each block connect or
 * disconnect is one transaction, so a crash leaves the file at a block boundary.
 *
 * Schema (migration 1):
 *   meta(key PK, value)                  'tip' = active tip hash
 *   blocks(hash PK, prev, height, chainwork, seq, status, time, header, raw, weight, size)
 *                                        every block ever accepted, any branch. chainwork is
 *                                        the integer sum of block proofs (each regtest block = 2);
 *                                        seq is first-seen order (breaks chainwork ties);
 *                                        status 'valid' (not known bad) | 'invalid'
 *   chain(height PK, hash UNIQUE)        the active chain, genesis at 0
 *   utxos(txid, vout PK, value, script, height, coinbase)
 *                                        unspent outputs of the active chain (not genesis, not
 *                                        OP_RETURN); indexed by script
 *   undo(block, n PK, txid, vout, value, script, height, coinbase)
 *                                        coins each connected block spent, in spend order
 *   txs(txid PK, block, height, pos, raw, fee, weight)
 *                                        tx index of the active chain (fee NULL for coinbases)
 *   outspends(txid, vout PK, spender, vin)  active-chain spends of outputs
 *   script_txs(script, txid PK, height, pos) active-chain txs funding or spending a script
 *   mempool(txid PK, seq, raw, fee, time)   pending txs in acceptance order
 */
import { openDb } from '../../store/sqlite.ts';
import type { Db } from '../../store/sqlite.ts';

export const DEVNET_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE blocks (
    hash TEXT PRIMARY KEY, prev TEXT NOT NULL, height INTEGER NOT NULL, chainwork INTEGER NOT NULL,
    seq INTEGER NOT NULL, status TEXT NOT NULL CHECK (status IN ('valid', 'invalid')),
    time INTEGER NOT NULL, header BLOB NOT NULL, raw BLOB NOT NULL, weight INTEGER NOT NULL, size INTEGER NOT NULL
  );
  CREATE INDEX blocks_prev ON blocks(prev);
  CREATE INDEX blocks_best ON blocks(status, chainwork DESC, seq ASC);
  CREATE TABLE chain (height INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE);
  CREATE TABLE utxos (
    txid TEXT NOT NULL, vout INTEGER NOT NULL, value INTEGER NOT NULL, script BLOB NOT NULL,
    height INTEGER NOT NULL, coinbase INTEGER NOT NULL, PRIMARY KEY (txid, vout)
  ) WITHOUT ROWID;
  CREATE INDEX utxos_script ON utxos(script);
  CREATE TABLE undo (
    block TEXT NOT NULL, n INTEGER NOT NULL, txid TEXT NOT NULL, vout INTEGER NOT NULL, value INTEGER NOT NULL,
    script BLOB NOT NULL, height INTEGER NOT NULL, coinbase INTEGER NOT NULL, PRIMARY KEY (block, n)
  ) WITHOUT ROWID;
  CREATE TABLE txs (
    txid TEXT PRIMARY KEY, block TEXT NOT NULL, height INTEGER NOT NULL, pos INTEGER NOT NULL,
    raw BLOB NOT NULL, fee INTEGER, weight INTEGER NOT NULL
  );
  CREATE TABLE outspends (
    txid TEXT NOT NULL, vout INTEGER NOT NULL, spender TEXT NOT NULL, vin INTEGER NOT NULL, PRIMARY KEY (txid, vout)
  ) WITHOUT ROWID;
  CREATE INDEX outspends_spender ON outspends(spender);
  CREATE TABLE script_txs (
    script BLOB NOT NULL, txid TEXT NOT NULL, height INTEGER NOT NULL, pos INTEGER NOT NULL, PRIMARY KEY (script, txid)
  ) WITHOUT ROWID;
  CREATE INDEX script_txs_txid ON script_txs(txid);
  CREATE TABLE mempool (txid TEXT PRIMARY KEY, seq INTEGER NOT NULL, raw BLOB NOT NULL, fee INTEGER NOT NULL, time INTEGER NOT NULL);
  `,
];

export interface BlockRow {
  hash: string;
  prev: string;
  height: number;
  chainwork: number;
  seq: number;
  status: 'valid' | 'invalid';
  time: number;
  header: Uint8Array;
  raw: Uint8Array;
  weight: number;
  size: number;
}

export interface CoinRow {
  txid: string;
  vout: number;
  value: number;
  script: Uint8Array;
  height: number;
  coinbase: number;
}

export interface TxRow {
  txid: string;
  block: string;
  height: number;
  pos: number;
  raw: Uint8Array;
  fee: number | null;
  weight: number;
}

/** Prepared statements over the devnet file; callers group them in transactions. */
export class DevnetStore {
  readonly db: Db;
  private readonly s;

  constructor(path: string, synchronous: 'FULL' | 'NORMAL') {
    this.db = openDb({ path, migrations: DEVNET_MIGRATIONS, synchronous });
    const p = (sql: string) => this.db.prepare(sql);
    this.s = {
      getMeta: p('SELECT value FROM meta WHERE key = ?').pluck(),
      setMeta: p('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      getBlock: p('SELECT * FROM blocks WHERE hash = ?'),
      insertBlock: p(
        'INSERT INTO blocks (hash, prev, height, chainwork, seq, status, time, header, raw, weight, size) VALUES (@hash, @prev, @height, @chainwork, @seq, @status, @time, @header, @raw, @weight, @size)',
      ),
      maxSeq: p('SELECT COALESCE(MAX(seq), -1) FROM blocks').pluck(),
      setStatus: p('UPDATE blocks SET status = ? WHERE hash = ?'),
      children: p('SELECT hash FROM blocks WHERE prev = ?').pluck(),
      best: p("SELECT hash FROM blocks WHERE status = 'valid' ORDER BY chainwork DESC, seq ASC LIMIT 1").pluck(),
      chainHash: p('SELECT hash FROM chain WHERE height = ?').pluck(),
      setChain: p('INSERT OR REPLACE INTO chain (height, hash) VALUES (?, ?)'),
      delChain: p('DELETE FROM chain WHERE height = ?'),
      getCoin: p('SELECT * FROM utxos WHERE txid = ? AND vout = ?'),
      addCoin: p('INSERT INTO utxos (txid, vout, value, script, height, coinbase) VALUES (@txid, @vout, @value, @script, @height, @coinbase)'),
      delCoin: p('DELETE FROM utxos WHERE txid = ? AND vout = ?'),
      delCoinsOf: p('DELETE FROM utxos WHERE txid = ?'),
      coinsByScript: p('SELECT * FROM utxos WHERE script = ? ORDER BY height, txid, vout'),
      addUndo: p('INSERT INTO undo (block, n, txid, vout, value, script, height, coinbase) VALUES (@block, @n, @txid, @vout, @value, @script, @height, @coinbase)'),
      undoOf: p('SELECT * FROM undo WHERE block = ? ORDER BY n'),
      delUndo: p('DELETE FROM undo WHERE block = ?'),
      addTx: p('INSERT OR REPLACE INTO txs (txid, block, height, pos, raw, fee, weight) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      getTx: p('SELECT * FROM txs WHERE txid = ?'),
      delTx: p('DELETE FROM txs WHERE txid = ?'),
      addOutspend: p('INSERT OR REPLACE INTO outspends (txid, vout, spender, vin) VALUES (?, ?, ?, ?)'),
      getOutspend: p('SELECT spender, vin FROM outspends WHERE txid = ? AND vout = ?'),
      delOutspendsBy: p('DELETE FROM outspends WHERE spender = ?'),
      addScriptTx: p('INSERT OR IGNORE INTO script_txs (script, txid, height, pos) VALUES (?, ?, ?, ?)'),
      delScriptTxs: p('DELETE FROM script_txs WHERE txid = ?'),
      scriptTxs: p('SELECT txid, height FROM script_txs WHERE script = ? ORDER BY height DESC, pos DESC'),
      addMempool: p('INSERT OR REPLACE INTO mempool (txid, seq, raw, fee, time) VALUES (?, ?, ?, ?, ?)'),
      delMempool: p('DELETE FROM mempool WHERE txid = ?'),
      clearMempool: p('DELETE FROM mempool'),
      allMempool: p('SELECT txid, seq, raw, fee, time FROM mempool ORDER BY seq'),
    };
  }

  tx<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  getMeta(key: string): string | undefined {
    return this.s.getMeta.get(key) as string | undefined;
  }
  setMeta(key: string, value: string): void {
    this.s.setMeta.run(key, value);
  }
  getBlock(hash: string): BlockRow | undefined {
    return this.s.getBlock.get(hash) as BlockRow | undefined;
  }
  insertBlock(row: BlockRow): void {
    this.s.insertBlock.run(row);
  }
  nextSeq(): number {
    return (this.s.maxSeq.get() as number) + 1;
  }
  setStatus(hash: string, status: BlockRow['status']): void {
    this.s.setStatus.run(status, hash);
  }
  children(hash: string): string[] {
    return this.s.children.all(hash) as string[];
  }
  bestCandidate(): string | undefined {
    return this.s.best.get() as string | undefined;
  }
  chainHash(height: number): string | undefined {
    return this.s.chainHash.get(height) as string | undefined;
  }
  setChain(height: number, hash: string): void {
    this.s.setChain.run(height, hash);
  }
  delChain(height: number): void {
    this.s.delChain.run(height);
  }
  getCoin(txid: string, vout: number): CoinRow | undefined {
    return this.s.getCoin.get(txid, vout) as CoinRow | undefined;
  }
  addCoin(c: CoinRow): void {
    this.s.addCoin.run(c);
  }
  delCoin(txid: string, vout: number): void {
    this.s.delCoin.run(txid, vout);
  }
  delCoinsOf(txid: string): void {
    this.s.delCoinsOf.run(txid);
  }
  coinsByScript(script: Uint8Array): CoinRow[] {
    return this.s.coinsByScript.all(script) as CoinRow[];
  }
  addUndo(block: string, n: number, c: CoinRow): void {
    this.s.addUndo.run({ block, n, ...c });
  }
  undoOf(block: string): CoinRow[] {
    return this.s.undoOf.all(block) as CoinRow[];
  }
  delUndo(block: string): void {
    this.s.delUndo.run(block);
  }
  addTx(r: TxRow): void {
    this.s.addTx.run(r.txid, r.block, r.height, r.pos, r.raw, r.fee, r.weight);
  }
  getTx(txid: string): TxRow | undefined {
    return this.s.getTx.get(txid) as TxRow | undefined;
  }
  delTx(txid: string): void {
    this.s.delTx.run(txid);
  }
  addOutspend(txid: string, vout: number, spender: string, vin: number): void {
    this.s.addOutspend.run(txid, vout, spender, vin);
  }
  getOutspend(txid: string, vout: number): { spender: string; vin: number } | undefined {
    return this.s.getOutspend.get(txid, vout) as { spender: string; vin: number } | undefined;
  }
  delOutspendsBy(spender: string): void {
    this.s.delOutspendsBy.run(spender);
  }
  addScriptTx(script: Uint8Array, txid: string, height: number, pos: number): void {
    this.s.addScriptTx.run(script, txid, height, pos);
  }
  delScriptTxs(txid: string): void {
    this.s.delScriptTxs.run(txid);
  }
  scriptTxs(script: Uint8Array): { txid: string; height: number }[] {
    return this.s.scriptTxs.all(script) as { txid: string; height: number }[];
  }
  addMempool(txid: string, seq: number, raw: Uint8Array, fee: number, time: number): void {
    this.s.addMempool.run(txid, seq, raw, fee, time);
  }
  delMempool(txid: string): void {
    this.s.delMempool.run(txid);
  }
  clearMempool(): void {
    this.s.clearMempool.run();
  }
  allMempool(): { txid: string; seq: number; raw: Uint8Array; fee: number; time: number }[] {
    return this.s.allMempool.all() as { txid: string; seq: number; raw: Uint8Array; fee: number; time: number }[];
  }
  close(): void {
    this.db.close();
  }
}
