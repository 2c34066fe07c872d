// A relay operator who tampers with his own store, as an attacker would: he opens the relay
// daemon's relay.sqlite and swaps the stored blob of a message, once re-signing the receipt
// with the relay's node key (the reader pays, then holds a fraud proof) and once without (the
// reader's checks catch it before paying). Real devnet, two real relay daemons, real client
// data directories, and the `satpost` command spawned for what a user or a third party runs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openRelayFile } from '../relay/helpers.ts';
import { hex } from '@scure/base';
import { pino } from 'pino';
import { DevnetBackend } from '../../src/chain/devnet/backend.ts';
import { Client } from '../../src/client/client.ts';
import { ClientError } from '../../src/client/errors.ts';
import { H } from '../../src/core/hash.ts';
import { FraudProofCodec, ReceiptCodec, messageIdOf, signReceipt } from '../../src/core/objects/index.ts';
import { nodeEd25519 } from '../../src/crypto/ed25519-node.ts';
import { BackendChainPolicy } from '../../src/relay/chain-ports.ts';
import { DEFAULTS, finish } from '../../src/relay/config.ts';
import { startRelay, type RelayHandle } from '../../src/relay/daemon.ts';
import { baseEnv, json, run } from '../cli/helpers.ts';
import { LIGHT_SCRYPT, acquaint, holdings, startChain, tempDir, type Chain } from './helpers.ts';

const SEND = { maxFee: 5_000, retentionDays: 0.1 } as const;

function rejectsWith(code: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ClientError, `expected ClientError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

/**
 * The operator's own edit of his relay's store: message `id` gets another blob of the same
 * length; with `resign`, also a receipt for it signed with the relay's node key.
 */
function swapBlob(relayDir: string, id: string, o: { resign: boolean }): void {
  const db = openRelayFile(relayDir, 'relay.sqlite');
  try {
    const row = db.prepare('SELECT blob, receipt FROM messages WHERE id = ?').get(Buffer.from(hex.decode(id))) as { blob: Buffer; receipt: Buffer } | undefined;
    assert.ok(row, `message ${id} is in the relay's store`);
    const blob = new Uint8Array(randomBytes(row.blob.length));
    if (!o.resign) {
      db.prepare('UPDATE messages SET blob = ? WHERE id = ?').run(blob, Buffer.from(hex.decode(id)));
      return;
    }
    const nodeSecret = hex.decode(readFileSync(join(relayDir, 'node-key'), 'utf8').trim());
    const old = ReceiptCodec.decode(new Uint8Array(row.receipt));
    const receipt = signReceipt({ relayId: old.relayId, tag: old.tag, hblob: H(blob), hk: old.hk, hc: old.hc, expiresAt: old.expiresAt }, nodeSecret, nodeEd25519());
    db.prepare('UPDATE messages SET blob = ?, hblob = ?, receipt = ? WHERE id = ?').run(blob, H(blob), ReceiptCodec.encode(receipt), Buffer.from(hex.decode(id)));
  } finally {
    db.close();
  }
}

describe('a relay that swaps a stored blob', { timeout: 300_000 }, () => {
  let chain: Chain;
  const tmp = tempDir('satpost-fraud-');
  const relays: RelayHandle[] = [];
  let cheat: RelayHandle;
  let honest: RelayHandle;
  const open = new Set<Client>();
  let alice: Client;
  let carol: Client;
  const carolDir = join(tmp.dir, 'carol');
  const cheatDir = join(tmp.dir, 'relay-cheat');

  const relayAt = async (dataDir: string, priceBaseSats: number) => {
    const config = finish({
      ...DEFAULTS, port: 0, dataDir, rateLimitBurst: 0, logLevel: 'silent', p2p: false, lockBlocks: 30, claimMarginBlocks: 3, chainUrl: chain.url, priceBaseSats,
    });
    const backend = new DevnetBackend(chain.devnet);
    const r = await startRelay(config, { backend, chain: new BackendChainPolicy(backend, 0), log: pino({ level: 'silent' }), walletScrypt: LIGHT_SCRYPT });
    relays.push(r);
    return r;
  };
  const make = async (name: string) => {
    const { client } = await Client.init({
      dir: join(tmp.dir, name), passphrase: `pw-${name}`, network: 'regtest', chainUrl: chain.url, relays: [cheat.url, honest.url], scrypt: LIGHT_SCRYPT,
    });
    open.add(client);
    return client;
  };
  const closeCarol = async () => {
    await carol.close();
    open.delete(carol);
  };
  const reopenCarol = async () => {
    carol = await Client.open({ dir: carolDir, passphrase: 'pw-carol' });
    open.add(carol);
  };
  const carolEnv = () => baseEnv({ SATPOST_PASSPHRASE: 'pw-carol' });

  before(async () => {
    chain = await startChain();
    // The cheater is the cheapest: every send picks it while it is trusted.
    cheat = await relayAt(cheatDir, 500);
    honest = await relayAt(join(tmp.dir, 'relay-honest'), 900);
    alice = await make('alice');
    carol = await make('carol');
    await acquaint(chain, alice, carol);
  });
  after(async () => {
    for (const c of open) await c.close();
    for (const r of relays) await r.stop();
    await chain.close();
    tmp.cleanup();
  });

  it('swap without re-signing the receipt: nothing is paid, the message stays listed as corrupt with its reason', async () => {
    const sent = await alice.send('carol', { text: 'recipient pays for this one' }, { mode: 'recipient-pays', ...SEND });
    assert.equal(sent.relay, cheat.url);
    swapBlob(cheatDir, sent.id, { resign: false });
    const before = await holdings(carol);

    const { entries, problems } = await carol.inbox();
    assert.ok(problems.some((p) => ClientError.is(p.error, 'BAD_RELAY_ANSWER')), 'the failed check is reported');
    const e = entries.find((x) => x.id === sent.id);
    assert.ok(e, 'the spoiled message is still in the inbox');
    assert.equal(e.state, 'corrupt');
    assert.equal(e.from, 'alice');
    assert.match(e.detail!, /receipt does not cover the blob served.*nothing was paid/);
    await assert.rejects(carol.read(sent.id, { maxPrice: sent.price }), rejectsWith('MESSAGE_CORRUPT'));
    assert.equal(await holdings(carol), before, 'Carol paid nothing');

    await closeCarol();
    try {
      const listed = json<{ messages: { id: string; state: string; detail: string }[] }>(await run(['inbox', '--json', '--data-dir', carolDir], carolEnv()));
      const row = listed.messages.find((m) => m.id === sent.id)!;
      assert.equal(row.state, 'corrupt');
      assert.match(row.detail, /does not cover the blob/);
    } finally {
      await reopenCarol();
    }
  });

  it('swap with a re-signed receipt: the reader pays, gets RELAY_FRAUD and a proof anyone can verify, and stops choosing that relay', async () => {
    const sent = await alice.send('carol', { text: 'the keys are under the blue pot' }, { mode: 'sender-pays', ...SEND });
    assert.equal(sent.relay, cheat.url);
    chain.devnet.mine(1);
    swapBlob(cheatDir, sent.id, { resign: true });

    const listed = (await carol.inbox()).entries.find((x) => x.id === sent.id)!;
    assert.equal(listed.state, 'new', 'a re-signed receipt passes every check before paying');
    let fraud: ClientError | undefined;
    await assert.rejects(carol.read(sent.id, { pollMs: 200 }), (err: unknown) => {
      rejectsWith('RELAY_FRAUD')(err);
      fraud = err as ClientError;
      return true;
    });
    const d = fraud!.details!;
    const relayId = hex.encode(cheat.service.relayId);
    assert.equal(fraud!.relay, cheat.url);
    assert.deepEqual({ id: d.id, relayId: d.relayId, messageId: d.messageId, reason: d.reason, amount: d.amount, mode: d.mode }, {
      id: sent.id, relayId, messageId: sent.id, reason: 'BLOB_UNDECRYPTABLE', amount: sent.price, mode: 'sender-pays',
    });
    const proofPath = d.proofPath as string;
    assert.equal(proofPath, join(carolDir, 'fraud-proofs', `${sent.id}.json`));
    assert.ok(existsSync(proofPath), 'the proof file is exported');
    assert.ok(fraud!.message.includes(cheat.url) && fraud!.message.includes(proofPath) && /will not be used again/.test(fraud!.message), fraud!.message);
    // The proof holds the k the relay released for exactly this message.
    const proof = FraudProofCodec.decode(hex.decode((JSON.parse(readFileSync(proofPath, 'utf8')) as { proof: string }).proof));
    assert.equal(hex.encode(messageIdOf(H(proof.k))), sent.id);

    // Kept with the message: listed as fraud with its proof, and a second read pays nothing more.
    const row = (await carol.inbox()).entries.find((x) => x.id === sent.id)!;
    assert.equal(row.state, 'fraud');
    assert.equal(row.proofPath, proofPath);
    await assert.rejects(carol.read(sent.id), rejectsWith('RELAY_FRAUD'));

    // Anyone can check the file: valid, naming the relay, the message and the quoted amount.
    const valid = await run(['verify-proof', proofPath], baseEnv());
    assert.equal(valid.code, 0, valid.stdout + valid.stderr);
    assert.match(valid.stdout, new RegExp(`^valid: relay ${relayId} .*cheated on message ${sent.id}`, 'm'));
    const verdict = json<{ valid: boolean; relayId: string; messageId: string; reason: string; amount: number }>(await run(['verify-proof', proofPath, '--json'], baseEnv()));
    assert.deepEqual(verdict, { ...verdict, valid: true, relayId, messageId: sent.id, reason: 'BLOB_UNDECRYPTABLE', amount: sent.price });

    // A tampered proof (one byte of the blob changed) proves nothing, and a non-proof is refused with a typed error.
    const doc = JSON.parse(readFileSync(proofPath, 'utf8')) as { proof: string };
    const last = doc.proof.length - 2;
    const tamperedPath = join(tmp.dir, 'tampered.json');
    writeFileSync(tamperedPath, JSON.stringify({ ...doc, proof: doc.proof.slice(0, last) + (doc.proof.slice(last) === '00' ? '01' : '00') }));
    const tampered = await run(['verify-proof', tamperedPath, '--json'], baseEnv());
    assert.equal(tampered.code, 1, tampered.stdout + tampered.stderr);
    assert.deepEqual(JSON.parse(tampered.stdout), { ...JSON.parse(tampered.stdout), valid: false, code: 'BLOB_MISMATCH' });
    const garbagePath = join(tmp.dir, 'garbage.json');
    writeFileSync(garbagePath, '{"type":"satpost-fraud-proof","version":1,"proof":"07"}');
    const garbage = await run(['verify-proof', garbagePath, '--json'], baseEnv());
    assert.equal(garbage.code, 1);
    assert.equal((JSON.parse(garbage.stdout) as { error: { code: string } }).error.code, 'MALFORMED_PROOF');

    // What the user sees from the command line, and the record surviving a restart.
    await closeCarol();
    try {
      const read = await run(['read', sent.id.slice(0, 12), '--data-dir', carolDir], carolEnv());
      assert.equal(read.code, 1);
      assert.ok(read.stderr.includes(`the relay at ${cheat.url} served a message that does not match its signed receipt after being paid`), read.stderr);
      assert.ok(read.stderr.includes(`a proof was saved at ${proofPath}`), read.stderr);
      const readJson = await run(['read', sent.id, '--json', '--data-dir', carolDir], carolEnv());
      const err = (JSON.parse(readJson.stdout) as { error: { code: string; details: Record<string, unknown> } }).error;
      assert.equal(err.code, 'RELAY_FRAUD');
      assert.deepEqual({ proofPath: err.details.proofPath, relayId: err.details.relayId, reason: err.details.reason }, { proofPath, relayId, reason: 'BLOB_UNDECRYPTABLE' });
    } finally {
      await reopenCarol();
    }

    // Her next send skips the cheater's quote (still the cheapest) and goes to the honest relay.
    const reply = await carol.send('alice', { text: 'got nothing readable' }, { mode: 'recipient-pays', ...SEND });
    assert.equal(reply.relay, honest.url);
    // And her inbox no longer asks the cheater while the honest relay is left: Alice (who trusts it) deposits there, Carol does not list it.
    const unseen = await alice.send('carol', { text: 'at the cheater again' }, { mode: 'recipient-pays', ...SEND });
    assert.equal(unseen.relay, cheat.url);
    const { entries, problems } = await carol.inbox();
    assert.deepEqual(problems, []);
    assert.equal(entries.find((x) => x.id === unseen.id), undefined);
  });
});
