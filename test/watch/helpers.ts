// Shared by the watcher tests: a devnet (in memory or in a file), parties that each keep
// wallet + contract book in one SQLite file, funded from the faucet, and contract terms
// built from the parties' real wallet contract keys.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3-multiple-ciphers';
import { sha256 } from '@noble/hashes/sha2.js';
import { Devnet } from '../../src/chain/devnet/devnet.ts';
import { DevnetBackend } from '../../src/chain/devnet/backend.ts';
import type { ContractTerms, ContractMode } from '../../src/contracts/index.ts';
import { SatpostError } from '../../src/core/errors.ts';
import type { Db } from '../../src/store/sqlite.ts';
import { Wallet } from '../../src/wallet/index.ts';
import { ContractBook } from '../../src/watch/book.ts';
import { openPartyDb } from '../../src/watch/party-db.ts';
import { PayerContracts } from '../../src/watch/payer.ts';
import { RelayContracts, type RelayPolicy } from '../../src/watch/relay.ts';
import { ContractWatcher } from '../../src/watch/watcher.ts';
import type { Problem, StateChange } from '../../src/watch/party.ts';

const light = { log2N: 10, r: 8, p: 1 };
export const FEE_RATE = 2;
export const POLICY: RelayPolicy = { minConfirmations: 1, claimMargin: 3 };

export interface Party {
  name: string;
  db: Db;
  wallet: Wallet;
  book: ContractBook;
  payer: PayerContracts;
  relay: RelayContracts;
  watcher: ContractWatcher;
  /** Every 'state' event this party's watcher emitted. */
  states: StateChange[];
  /** Every 'problem' event (errors a pass swallowed to go on with other contracts). */
  problems: Problem[];
  /** Closes wallet and file without stopping the watcher: what a crash leaves behind. */
  crash: () => void;
}

export class Env {
  readonly dir = mkdtempSync(join(tmpdir(), 'satpost-watch-'));
  devnet: Devnet;
  backend: DevnetBackend;
  private readonly parties: Party[] = [];
  /** Problems of every party ever opened here, crashed ones included. */
  readonly problemLog: string[] = [];

  constructor(readonly persistent = false) {
    this.devnet = Devnet.open({ path: this.devnetPath() });
    this.backend = new DevnetBackend(this.devnet);
  }

  private devnetPath(): string {
    return this.persistent ? join(this.dir, 'devnet.sqlite') : ':memory:';
  }

  /** Opens (creating on first use) the party `name`: one file for its wallet and contracts. */
  party(name: string): Party {
    const path = join(this.dir, `${name}.sqlite`);
    const db = openPartyDb(path);
    const existing = db.prepare('SELECT COUNT(*) AS n FROM wallet').get() as { n: number };
    const wallet = existing.n > 0
      ? Wallet.open({ db, passphrase: 'pw', network: 'regtest', backend: this.backend })
      : Wallet.create({ db, passphrase: 'pw', network: 'regtest', backend: this.backend, scrypt: light });
    const book = new ContractBook(db);
    const common = { book, wallet, backend: this.backend, feeRate: FEE_RATE };
    const payer = new PayerContracts(common);
    const relay = new RelayContracts({ ...common, ...POLICY });
    const watcher = new ContractWatcher({ backend: this.backend, payer, relay });
    const states: StateChange[] = [];
    watcher.on('state', (s) => states.push(s));
    const problems: Problem[] = [];
    watcher.on('problem', (x) => {
      problems.push(x);
      this.problemLog.push(`${name}: ${String(x.error)}`);
    });
    const p: Party = {
      name, db, wallet, book, payer, relay, watcher, states, problems,
      crash: () => {
        wallet.close();
        db.close();
        this.parties.splice(this.parties.indexOf(p), 1);
      },
    };
    this.parties.push(p);
    return p;
  }

  async fundWallet(p: Party, sats: number, coins = 1): Promise<void> {
    for (let i = 0; i < coins; i++) this.devnet.faucet(p.wallet.newReceiveAddress().script, sats);
    this.devnet.mine(1);
    await p.wallet.sync();
  }

  /** Stops nothing: closes every party and the chain as a crash would, then reopens the chain. */
  crashAll(opts: { dropMempool?: boolean } = {}): void {
    assert.ok(this.persistent, 'crash tests need a devnet file');
    for (const p of [...this.parties]) p.crash();
    this.devnet.close();
    if (opts.dropMempool) {
      // A node restarted without its mempool (bitcoind -persistmempool=0): what it held is gone.
      const raw = new Database(this.devnetPath());
      raw.prepare('DELETE FROM mempool').run();
      raw.close();
    }
    this.devnet = Devnet.open({ path: this.devnetPath() });
    this.backend = new DevnetBackend(this.devnet);
  }

  async pollAll(...ps: Party[]): Promise<void> {
    for (const p of ps) await p.watcher.poll();
  }

  /** Closes everything; fails the test if a watcher pass hit an error nobody expected. */
  async done(): Promise<void> {
    const problems = [...this.problemLog];
    for (const p of [...this.parties]) {
      await p.watcher.stop();
      p.crash();
    }
    this.devnet.close();
    rmSync(this.dir, { recursive: true, force: true });
    assert.deepEqual(problems, [], 'watcher passes raised no problems');
  }
}

export interface Deal {
  terms: ContractTerms;
  k: Uint8Array;
  r?: Uint8Array;
  payerKeyIndex: number;
  relayKeyIndex: number;
}

/** Terms as a quote would carry them: the relay's fresh k and key, the payer's fresh key. */
export function deal(payer: Party, relay: Party, mode: ContractMode, locktime: number): Deal {
  const k = new Uint8Array(randomBytes(32));
  const r = mode === 'sender-pays' ? new Uint8Array(randomBytes(32)) : undefined;
  const payerKeyIndex = payer.wallet.nextContractKeyIndex();
  const relayKeyIndex = relay.wallet.nextContractKeyIndex();
  const terms: ContractTerms = {
    mode,
    hk: sha256(k),
    ...(r ? { hr: sha256(r) } : {}),
    relayPubkey: relay.wallet.contractKey(relayKeyIndex).pubkey33,
    payerPubkey: payer.wallet.contractKey(payerKeyIndex).pubkey33,
    locktime,
  };
  return { terms, k, ...(r ? { r } : {}), payerKeyIndex, relayKeyIndex };
}

export async function rejectsCode(p: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  await assert.rejects(async () => (typeof p === 'function' ? p() : p), (err: unknown) => {
    assert.ok(err instanceof SatpostError, `expected a SatpostError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

export function events(p: Party, id: string): string[] {
  return p.book.history(id).map((e) => e.event);
}
