// The devnet HTTP service speaks Esplora's REST API: shapes checked field by field
// against Blockstream/esplora API.md (and electrs' serialisation), on a real socket.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { hex } from '@scure/base';
import { Devnet } from '../../src/chain/devnet/devnet.ts';
import { startDevnetServer, type DevnetServer } from '../../src/chain/devnet/server.ts';
import { EsploraBackend } from '../../src/chain/esplora/backend.ts';
import { newKey, spend } from '../chain/fixtures.ts';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();
const HEX64 = /^[0-9a-f]{64}$/;
const TX_KEYS = ['fee', 'locktime', 'size', 'status', 'txid', 'version', 'vin', 'vout', 'weight'];
const VIN_KEYS = ['is_coinbase', 'prevout', 'scriptsig', 'scriptsig_asm', 'sequence', 'txid', 'vout'];
const BLOCK_KEYS = [
  'bits', 'difficulty', 'height', 'id', 'mediantime', 'merkle_root', 'nonce', 'previousblockhash', 'size', 'timestamp', 'tx_count', 'version', 'weight',
];

describe('devnet Esplora server', { timeout: 60_000 }, () => {
  let devnet: Devnet;
  let server: DevnetServer;
  before(async () => {
    devnet = Devnet.open({ path: ':memory:' });
    server = await startDevnetServer({ devnet });
  });
  after(async () => {
    await server.close();
    devnet.close();
  });

  const get = async (path: string) => {
    const res = await fetch(`${server.url}${path}`);
    return { status: res.status, type: res.headers.get('content-type') ?? '', bytes: new Uint8Array(await res.arrayBuffer()) };
  };
  const getText = async (path: string, status = 200) => {
    const r = await get(path);
    const text = new TextDecoder().decode(r.bytes);
    assert.equal(r.status, status, `${path}: ${text}`);
    return text;
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const getJson = async (path: string): Promise<any> => {
    const r = await get(path);
    const text = new TextDecoder().decode(r.bytes);
    assert.equal(r.status, 200, `${path}: ${text}`);
    assert.match(r.type, /^application\/json/);
    return JSON.parse(text);
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const post = async (path: string, body: unknown): Promise<{ status: number; json: any }> => {
    const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, json: await res.json() };
  };
  const postTx = async (body: string, type = 'text/plain') => {
    const res = await fetch(`${server.url}/tx`, { method: 'POST', headers: { 'content-type': type }, body });
    return { status: res.status, text: await res.text() };
  };

  it('serves the tip as text and blocks by height', async () => {
    const tip = devnet.tip();
    assert.equal(await getText('/blocks/tip/height'), String(tip.height));
    assert.equal(await getText('/blocks/tip/hash'), tip.hash);
    assert.equal(await getText(`/block-height/${tip.height}`), tip.hash);
    assert.equal(await getText('/block-height/0'), devnet.getBlockHash(0));
    assert.equal(await getText('/block-height/99999999', 404), 'Block not found');
    await getText('/block-height/abc', 400);
  });

  it('serves a block in Esplora block format, its raw bytes and its txids', async () => {
    const [hash] = (await post('/dev/mine', { blocks: 1 })).json.hashes as string[];
    const block = await getJson(`/block/${hash}`);
    assert.deepEqual(Object.keys(block).sort(), BLOCK_KEYS);
    const info = devnet.getBlock(hash!)!;
    assert.equal(block.id, hash);
    assert.equal(block.height, info.height);
    assert.equal(block.previousblockhash, info.prev);
    assert.equal(block.timestamp, info.time);
    assert.equal(block.tx_count, info.txids.length);
    assert.equal(block.size, info.size);
    assert.equal(block.weight, info.weight);
    assert.match(block.merkle_root, HEX64);
    assert.equal(block.bits, 0x207fffff, 'regtest proof-of-work limit');
    assert.ok(Math.abs(block.difficulty - 4.656542373906925e-10) < 1e-20, `difficulty ${block.difficulty}`);
    assert.ok(block.mediantime <= block.timestamp);
    assert.deepEqual(await getJson(`/block/${hash}/txids`), info.txids);

    const raw = await get(`/block/${hash}/raw`);
    assert.equal(raw.type, 'application/octet-stream');
    assert.equal(raw.bytes.length, info.size);
    // The header's double SHA-256, byte-reversed, is the block id.
    assert.equal(hex.encode(sha256(sha256(raw.bytes.slice(0, 80))).reverse()), hash);
    assert.equal(hex.encode(raw.bytes.slice(36, 68).reverse()), block.merkle_root);

    assert.equal(await getText(`/block/${hash}/header`), hex.encode(raw.bytes.slice(0, 80)));
    const recent = await getJson('/blocks');
    assert.equal(recent.length, 10);
    assert.deepEqual(recent[0], block);
    assert.equal(recent[9].height, block.height - 9);
    assert.deepEqual((await getJson('/blocks/1')).map((b: { height: number }) => b.height), [1, 0]);

    const genesis = await getJson(`/block/${devnet.getBlockHash(0)}`);
    assert.equal(genesis.previousblockhash, null);
    assert.deepEqual(await getJson(`/block/${hash}/status`), { in_best_chain: true, height: block.height });
    assert.equal(await getText(`/block/${'00'.repeat(32)}`, 404), 'Block not found');
    await getText('/block/nothex', 400);
  });

  it('serves a transaction in Esplora transaction format, as hex and raw, with status and outspends', async () => {
    const key = newKey();
    const { status, json } = await post('/dev/faucet', { address: key.address, sats: 123_456 });
    assert.equal(status, 200, JSON.stringify(json));
    const txid = json.txid as string;
    const tx = await getJson(`/tx/${txid}`);
    assert.deepEqual(Object.keys(tx).sort(), TX_KEYS);
    assert.equal(tx.txid, txid);
    assert.deepEqual(tx.status, { confirmed: false });
    const mine = tx.vout.find((o: { scriptpubkey: string }) => o.scriptpubkey === hex.encode(key.script));
    assert.deepEqual(mine, {
      scriptpubkey: hex.encode(key.script),
      scriptpubkey_asm: `OP_0 OP_PUSHBYTES_20 ${hex.encode(key.script.subarray(2))}`,
      scriptpubkey_address: key.address,
      scriptpubkey_type: 'v0_p2wpkh',
      value: 123_456,
    });
    for (const vin of tx.vin) {
      for (const k of VIN_KEYS) assert.ok(k in vin, `vin has ${k}`);
      assert.equal(vin.is_coinbase, false);
      assert.match(vin.txid, HEX64);
      assert.equal(typeof vin.prevout.value, 'number');
    }
    const inSum = tx.vin.reduce((s: number, v: { prevout: { value: number } }) => s + v.prevout.value, 0);
    const outSum = tx.vout.reduce((s: number, v: { value: number }) => s + v.value, 0);
    assert.equal(tx.fee, inSum - outSum);
    assert.ok(tx.fee > 0);

    const hexText = await getText(`/tx/${txid}/hex`);
    assert.equal(tx.size, hexText.length / 2);
    assert.deepEqual((await get(`/tx/${txid}/raw`)).bytes, hex.decode(hexText));
    assert.deepEqual(await getJson(`/tx/${txid}/status`), { confirmed: false });
    assert.deepEqual((await getJson('/mempool/txids')).includes(txid), true);
    const outspends = await getJson(`/tx/${txid}/outspends`);
    assert.equal(outspends.length, tx.vout.length);
    assert.deepEqual(outspends[0], { spent: false });

    const [block] = (await post('/dev/mine', { blocks: 1, address: newKey().address })).json.hashes as string[];
    const confirmed = await getJson(`/tx/${txid}/status`);
    assert.deepEqual(confirmed, { confirmed: true, block_height: devnet.tip().height, block_hash: block, block_time: devnet.getBlock(block!)!.time });
    // The previous outputs the faucet spent now show who spent them.
    const spentBy = await getJson(`/tx/${tx.vin[0].txid}/outspend/${tx.vin[0].vout}`);
    assert.deepEqual(spentBy, { spent: true, txid, vin: 0, status: confirmed });

    const coinbaseTxid = (await getJson(`/block/${block}/txids`))[0];
    const coinbase = await getJson(`/tx/${coinbaseTxid}`);
    assert.deepEqual(
      { txid: coinbase.vin[0].txid, vout: coinbase.vin[0].vout, prevout: coinbase.vin[0].prevout, is_coinbase: coinbase.vin[0].is_coinbase },
      { txid: '00'.repeat(32), vout: 0xffffffff, prevout: null, is_coinbase: true },
    );
    assert.equal(coinbase.fee, 0);

    assert.equal(await getText(`/tx/${'ab'.repeat(32)}`, 404), 'Transaction not found');
    // electrs: an unknown transaction's status is unconfirmed, not 404.
    assert.deepEqual(await getJson(`/tx/${'ab'.repeat(32)}/status`), { confirmed: false });
    // electrs: an output that does not exist, or an unknown transaction's, is unspent.
    assert.deepEqual(await getJson(`/tx/${txid}/outspend/99`), { spent: false });
    assert.deepEqual(await getJson(`/tx/${'ab'.repeat(32)}/outspend/0`), { spent: false });
    assert.equal(await getText(`/tx/${'ab'.repeat(32)}/outspends`, 404), 'Transaction not found');
    await getText('/tx/123', 400);
    await getText(`/tx/${txid}/outspend/-1`, 400);
  });

  it('serves utxos and history by address and by Esplora script hash (SHA-256, not reversed)', async () => {
    const key = newKey();
    const { json } = await post('/dev/faucet', { address: key.address, sats: 50_000 });
    const fundTxid = json.txid as string;
    const scripthash = hex.encode(sha256(key.script));
    const utxo = await getJson(`/address/${key.address}/utxo`);
    assert.deepEqual(utxo, [{ txid: fundTxid, vout: utxo[0].vout, status: { confirmed: false }, value: 50_000 }]);
    assert.deepEqual(await getJson(`/scripthash/${scripthash}/utxo`), utxo);
    assert.deepEqual(await getJson(`/scripthash/${hex.encode(sha256(key.script).reverse())}/utxo`), [], 'Electrum byte order is not Esplora\'s');
    const txs = await getJson(`/address/${key.address}/txs`);
    assert.deepEqual(txs.map((t: { txid: string }) => t.txid), [fundTxid]);
    assert.deepEqual(await getJson(`/scripthash/${scripthash}/txs`), txs);
    assert.deepEqual(await getJson(`/address/${key.address}/txs/mempool`), txs);
    assert.deepEqual(await getJson(`/address/${key.address}/txs/chain`), []);

    await getText('/address/notanaddress/utxo', 400);
    await getText('/address/bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq/utxo', 400); // mainnet address
    assert.deepEqual(await getJson(`/scripthash/${'11'.repeat(32)}/txs`), []);
  });

  it('pages confirmed history 25 at a time, newest first, and EsploraBackend follows the pages', async () => {
    const key = newKey();
    const funded: string[] = [];
    for (let i = 0; i < 30; i++) funded.push((await post('/dev/faucet', { address: key.address, sats: 1_000 + i })).json.txid);
    await post('/dev/mine', { blocks: 1 });
    const first = await getJson(`/address/${key.address}/txs`);
    assert.equal(first.length, 25);
    const rest = await getJson(`/address/${key.address}/txs/chain/${first[24].txid}`);
    assert.equal(rest.length, 5);
    const all = [...first, ...rest].map((t: { txid: string }) => t.txid);
    assert.deepEqual(new Set(all), new Set(funded));
    const backend = new EsploraBackend({ baseUrl: server.url, network: 'regtest' });
    assert.equal((await backend.getScriptHistory(key.script)).length, 30);
  });

  it('gives fee estimates and mempool statistics', async () => {
    const fees = await getJson('/fee-estimates');
    assert.deepEqual(fees, devnet.feeEstimates());
    const mempool = await getJson('/mempool');
    assert.deepEqual(Object.keys(mempool).sort(), ['count', 'fee_histogram', 'total_fee', 'vsize']);
    assert.equal(mempool.count, devnet.mempoolTxids().length);
  });

  it('POST /tx answers the txid, or 400 with a bitcoind-style reason carrying the stable code', async () => {
    const key = newKey();
    const fund = (await post('/dev/faucet', { address: key.address, sats: 20_000 })).json.txid as string;
    const out = devnet.getScriptUtxos(key.script).find((u) => u.txid === fund)!;
    const coin = { txid: fund, vout: out.vout, value: 20_000 };
    const free = spend(key, [coin], [{ script: newKey().script, value: 20_000 }]);
    const low = await postTx(hex.encode(free.raw));
    assert.equal(low.status, 400);
    assert.match(low.text, /^sendrawtransaction RPC error: \{"code":-26,"message":"FEE_TOO_LOW: /);

    const good = spend(key, [coin], [{ script: newKey().script, value: 19_000 }]);
    // curl -d sends application/x-www-form-urlencoded; Esplora takes the hex anyway.
    assert.deepEqual(await postTx(hex.encode(good.raw), 'application/x-www-form-urlencoded'), { status: 200, text: good.txid });

    const bad = await postTx('zz');
    assert.equal(bad.status, 400);
    assert.match(bad.text, /"code":-22,"message":"MALFORMED_TX: /);
    assert.equal((await postTx('')).status, 400);
  });

  it('validates /dev/ bodies with JSON errors', async () => {
    for (const body of [{ blocks: 0 }, { blocks: 'x' }, { blocks: 1, extra: true }, {}]) {
      const r = await post('/dev/mine', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json.error.code, 'BAD_REQUEST');
    }
    const badAddress = await post('/dev/faucet', { address: 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq', sats: 1000 });
    assert.equal(badAddress.status, 400);
    assert.match(badAddress.json.error.message, /"address" expected a regtest address/);
    assert.equal((await post('/dev/faucet', { address: newKey().address, sats: 0 })).status, 400);
    assert.equal((await post('/dev/invalidate', { hash: 'nothex' })).status, 400);
    assert.equal((await post('/dev/mine-on', { parent: '00'.repeat(32), blocks: 1 })).status, 404);
  });

  it('reorganises through /dev/invalidate and /dev/mine-on', async () => {
    const t0 = devnet.tip();
    const [a] = (await post('/dev/mine', { blocks: 1 })).json.hashes;
    const inv = await post('/dev/invalidate', { hash: a });
    assert.deepEqual(inv, { status: 200, json: { tip: t0 } });
    const branch = (await post('/dev/mine-on', { parent: t0.hash, blocks: 2 })).json.hashes as string[];
    assert.equal(await getText('/blocks/tip/hash'), branch[1]);
    assert.deepEqual(await getJson(`/block/${a}/status`), { in_best_chain: false });
    assert.deepEqual(await getJson(`/block/${branch[0]}/status`), { in_best_chain: true, height: t0.height + 1, next_best: branch[1] });
  });
});
