// kill -9 right after the acknowledgements: every acknowledged deposit survives a restart.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Devnet } from '../../src/chain/devnet/devnet.ts';
import { startDevnetServer, type DevnetServer } from '../../src/chain/devnet/server.ts';
import { DepositCodec, OfferCodec, QuoteCodec, ReceiptCodec, type Receipt } from '../../src/core/objects/index.ts';
import { OP } from '../../src/core/wire/stream.ts';
import { StoredMessageCodec } from '../../src/core/objects/stored-message.ts';
import { DevnetBackend } from '../../src/chain/devnet/backend.ts';
import { buildContractScript, contractScriptPubKey } from '../../src/contracts/index.ts';
import { Wallet } from '../../src/wallet/index.ts';
import { openPartyDb } from '../../src/watch/index.ts';
import { LIGHT_SCRYPT, StreamClient, deposit, depositFor, fetchTagged, getQuote, hexOf, listTags, newIdentity, offer, openRelayFile, rnd } from './helpers.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'satpost.js');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

/** /metrics value of a gauge in another process, read until `ok` holds (the relay's watcher works on its own schedule). */
async function metricUntil(url: string, name: string, ok: (v: number) => boolean): Promise<number> {
  for (;;) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const v = Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
    if (ok(v)) return v;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function startRelayProcess(dataDir: string, chain: string): Promise<{ child: ChildProcess; url: string; exited: Promise<NodeJS.Signals | number | null> }> {
  const child = spawn(process.execPath, [BIN, 'relay', '--port', '0', '--p2p-port', '0', '--data-dir', dataDir, '--chain', chain, '--log-level', 'warn', '--set', 'rateLimitBurst=0', 'streamMaxInFlight=1000', 'mailboxUnpaidMaxMessages=1000', 'depositorUnpaidMaxMessages=1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^listening on (http:\/\/127\.0\.0\.1:[0-9]+)$/.exec(line);
      if (m) resolve({ child, url: m[1]!, exited });
    });
    void exited.then((code) => reject(new Error(`relay exited (${code}) before listening: ${stderr}`)));
  });
}

describe('relay process: kill -9 after acknowledgements', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'satpost-relay-crash-'));
  let devnet: Devnet;
  let chain: DevnetServer;
  before(async () => {
    devnet = Devnet.open({ path: ':memory:', faucetBlocks: 1 });
    chain = await startDevnetServer({ devnet });
  });
  after(async () => {
    await chain.close();
    devnet.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('kill -9 while deposits stream in on 8 connections: every acknowledged deposit is in relay.sqlite (acknowledged only after its commit)', async () => {
    const CONNS = 8;
    const PER_CONN = 50;
    const IN_FLIGHT = 8;
    const sub = join(dir, 'under-load');
    const relay = await startRelayProcess(sub, chain.url);
    const carol = newIdentity();
    const conns = await Promise.all(Array.from({ length: CONNS }, () => StreamClient.open(relay.url)));
    const closed = Promise.all(conns.map((c) => new Promise<void>((resolve) => c.ws.once('close', () => resolve()))));
    // Quotes first, so that once deposits start every connection keeps IN_FLIGHT of them in flight.
    const quotes = await Promise.all(
      conns.map((c) => Promise.all(Array.from({ length: PER_CONN }, async () => QuoteCodec.decode((await c.request(OP.quote, OfferCodec.encode(offer(carol.mailbox, 1024)))).payload)))),
    );
    const acked: Uint8Array[] = [];
    let sent = 0;
    let inFlightAtKill = -1;
    let failure: string | undefined;
    conns.forEach((c, ci) => {
      let next = 0;
      const lane = (): void => {
        if (next >= PER_CONN || inFlightAtKill >= 0) return;
        const d = DepositCodec.encode(depositFor(quotes[ci]![next++]!));
        sent++;
        void c.request(OP.deposit, d).then((a) => {
          if (a.status !== 0) failure ??= Buffer.from(a.payload).toString();
          acked.push(a.payload);
          if (acked.length >= 120 && inFlightAtKill < 0) {
            inFlightAtKill = sent - acked.length;
            relay.child.kill('SIGKILL');
          }
          lane();
        });
      };
      for (let i = 0; i < IN_FLIGHT; i++) lane();
    });
    await closed;
    assert.equal(await relay.exited, 'SIGKILL');
    assert.equal(failure, undefined);
    assert.ok(inFlightAtKill > 0, 'deposits were in flight (in a batch not yet committed, or not yet read) at the kill');
    const db = openRelayFile(sub, 'relay.sqlite');
    try {
      const get = db.prepare('SELECT receipt FROM messages WHERE id = ?');
      const lost = acked.filter((a) => {
        const row = get.get(ReceiptCodec.decode(a).messageId) as { receipt: Buffer } | undefined;
        return row === undefined || !row.receipt.equals(a);
      });
      assert.equal(lost.length, 0, `${lost.length} of ${acked.length} acknowledged deposits lost`);
    } finally {
      db.close();
    }
  });

  it('serves every acknowledged message after SIGKILL and restart, completes a pending claim; keys are owner-only', async () => {
    const N = 300;
    const carol = newIdentity();
    const first = await startRelayProcess(dir, chain.url);
    const acked: Receipt[] = [];
    const bodies = new Map<string, string>();
    const aliceDb = openPartyDb(join(dir, 'alice.sqlite'));
    const alice = Wallet.create({ db: aliceDb, passphrase: 'pw', network: 'regtest', backend: new DevnetBackend(devnet), scrypt: LIGHT_SCRYPT });
    let paid: { amount: number; claimTxid: string; id: Uint8Array } | undefined;
    try {
      // One sender-pays message paid, confirmed and unlocked: its claim is pending at the kill.
      devnet.faucet(alice.newReceiveAddress().script, 100_000);
      devnet.mine(1);
      await alice.sync();
      const payerPubkey = alice.contractKey(alice.nextContractKeyIndex()).pubkey33;
      const q = await getQuote(first.url, offer(carol.mailbox, 64, { mode: 'sender-pays' }));
      const r = rnd(32);
      const script = buildContractScript({ mode: 'sender-pays', hk: q.hk, hr: sha256(r), relayPubkey: q.contractPubkey, payerPubkey, locktime: q.locktime });
      const fundTx = await alice.createTransaction({ outputs: [{ script: contractScriptPubKey(script), amount: q.amount }], feeRate: 2 });
      await alice.broadcast(fundTx.txid);
      devnet.mine(1);
      const rec = await deposit(first.url, depositFor(q, rnd(64), { hr: sha256(r), payerPubkey, funding: { txid: fundTx.txid, vout: 0 } }));
      const un = await fetch(`${first.url}/v1/unlock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: hexOf(rec.messageId), r: hexOf(r) }) });
      assert.equal(un.status, 200, await un.clone().text());
      paid = { amount: q.amount, claimTxid: ((await un.json()) as { claimTxid: string }).claimTxid, id: rec.messageId };
      assert.equal(devnet.getTx(paid.claimTxid)?.status.confirmed, false, 'the claim is pending (unconfirmed) at the kill');

      const s = await StreamClient.open(first.url);
      const quotes = await Promise.all(
        Array.from({ length: N }, async () => QuoteCodec.decode((await s.request(OP.quote, OfferCodec.encode(offer(carol.mailbox, 1024)))).payload)),
      );
      // All deposits in flight at once; the process is killed the moment the last ack arrives.
      await Promise.all(
        quotes.map(async (q) => {
          const d = depositFor(q);
          const a = await s.request(OP.deposit, DepositCodec.encode(d));
          assert.equal(a.status, 0, Buffer.from(a.payload).toString());
          const r = ReceiptCodec.decode(a.payload);
          acked.push(r);
          bodies.set(hexOf(r.messageId), sha(d.body));
          if (acked.length === N) first.child.kill('SIGKILL');
        }),
      );
    } finally {
      first.child.kill('SIGKILL');
      alice.close();
      aliceDb.close();
    }
    assert.equal(await first.exited, 'SIGKILL');
    assert.equal(acked.length, N);
    for (const f of ['node-key', 'wallet-passphrase', 'wallet.sqlite', 'relay.sqlite']) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);

    const second = await startRelayProcess(dir, chain.url);
    try {
      const info = (await (await fetch(`${second.url}/.well-known/satpost`)).json()) as { relayId: string };
      assert.equal(info.relayId, hexOf(acked[0]!.relayId), 'the node key persists');
      const list = await listTags(second.url, [carol.mailbox]);
      const ids = new Set(((await list.json()) as { messages: { id: string }[] }).messages.map((m) => m.id));
      for (const r of acked) assert.ok(ids.has(hexOf(r.messageId)), `acknowledged ${hexOf(r.messageId)} survives`);
      for (const r of acked.slice(0, 20)) {
        const res = await fetchTagged(second.url, carol.secret, r.messageId);
        assert.equal(res.status, 200);
        const m = StoredMessageCodec.decode(new Uint8Array(await res.arrayBuffer()));
        assert.deepEqual(m.receipt, r);
        assert.equal(sha(m.blob), hexOf(r.hblob));
      }
      assert.ok(bodies.size === N);
      assert.ok(ids.has(hexOf(paid!.id)), 'the paid message survives too');
      // The pending claim completes: the restarted relay's watcher sees it confirm.
      assert.equal(await metricUntil(second.url, 'satpost_relay_claims_pending', (v) => v === 1), 1);
      devnet.mine(1);
      assert.equal(await metricUntil(second.url, 'satpost_relay_sats_earned', (v) => v > 0), paid!.amount);
      assert.equal(await metricUntil(second.url, 'satpost_relay_claims_pending', (v) => v === 0), 0);
      assert.equal(devnet.getTx(paid!.claimTxid)?.status.confirmed, true);
    } finally {
      second.child.kill('SIGTERM');
    }
    assert.equal(await second.exited, 0, 'SIGTERM is a clean exit');
  });
});
