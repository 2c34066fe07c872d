// The devnet's Esplora API against what electrs serves (Blockstream/esplora API.md and
// electrs' rest.rs), for the gaps a third-party Esplora client found: the /api/ root,
// CORS, address and script-hash totals, block transaction pages, *_asm fields,
// after_txid paging, fee targets and the status of unknown transactions. A real
// server on 127.0.0.1, port 0.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { Transaction, p2pk, p2sh, p2wsh } from '@scure/btc-signer';
import { hex } from '@scure/base';
import { Devnet, FEE_TARGETS } from '../../src/chain/devnet/devnet.ts';
import { startDevnetServer, type DevnetServer } from '../../src/chain/devnet/server.ts';
import { EsploraBackend } from '../../src/chain/esplora/backend.ts';
import { ChainError } from '../../src/chain/backend.ts';
import { REGTEST, newKey, randomTxid, spend } from '../chain/fixtures.ts';

const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
const STATS_KEYS = ['funded_txo_count', 'funded_txo_sum', 'spent_txo_count', 'spent_txo_sum', 'tx_count'];
const zeroStats = { funded_txo_count: 0, funded_txo_sum: 0, spent_txo_count: 0, spent_txo_sum: 0, tx_count: 0 };

describe('devnet Esplora API compatibility', { timeout: 120_000 }, () => {
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

  const raw = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${server.url}${path}`, init);
    return { status: res.status, headers: res.headers, text: await res.text() };
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const getJson = async (path: string): Promise<any> => {
    const r = await raw(path);
    assert.equal(r.status, 200, `${path}: ${r.text}`);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    return JSON.parse(r.text);
  };
  const getText = async (path: string, status = 200): Promise<string> => {
    const r = await raw(path);
    assert.equal(r.status, status, `${path}: ${r.text}`);
    return r.text;
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const dev = async (path: string, body: unknown): Promise<any> => {
    const r = await raw(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(r.status, 200, `${path}: ${r.text}`);
    return JSON.parse(r.text);
  };
  const faucet = async (address: string, sats: number): Promise<string> => (await dev('/dev/faucet', { address, sats })).txid;
  const mine = async (blocks = 1): Promise<string[]> => (await dev('/dev/mine', { blocks })).hashes;
  const postTx = async (rawTx: Uint8Array) => raw('/tx', { method: 'POST', body: hex.encode(rawTx) });
  const voutOf = (txid: string, script: Uint8Array) => devnet.getScriptUtxos(script).find((u) => u.txid === txid)!.vout;

  it('serves every route under /api/ as well, with identical answers', async () => {
    const key = newKey();
    const txid = await faucet(key.address, 10_000);
    const [block] = await mine();
    const scripthash = hex.encode(sha256(key.script));
    const paths = [
      '/blocks/tip/height', '/blocks/tip/hash', '/blocks', '/blocks/0', `/block/${block}`, `/block/${block}/status`, `/block/${block}/txids`,
      `/block/${block}/txs`, `/block/${block}/txid/1`, `/block/${block}/header`, '/block-height/1', `/tx/${txid}`, `/tx/${txid}/hex`,
      `/tx/${txid}/status`, `/tx/${txid}/outspends`, `/address/${key.address}`, `/address/${key.address}/txs`, `/address/${key.address}/utxo`,
      `/scripthash/${scripthash}`, `/scripthash/${scripthash}/txs/chain`, '/fee-estimates', '/mempool', '/mempool/txids', '/mempool/recent',
      // Errors too: the same status and text.
      `/tx/${randomTxid()}`, '/block-height/99999999', '/address/notanaddress', '/no/such/route',
    ];
    for (const path of paths) {
      const bare = await raw(path);
      const api = await raw(`/api${path}`);
      assert.deepEqual({ status: api.status, text: api.text }, { status: bare.status, text: bare.text }, path);
      assert.equal(api.headers.get('content-type'), bare.headers.get('content-type'), path);
    }
    assert.equal((await raw('/api/tx/nothex')).status, 400);
    // POST and the development endpoints too.
    const minedViaApi = await raw('/api/dev/mine', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"blocks":1}' });
    assert.equal(minedViaApi.status, 200);
    assert.equal(await getText('/blocks/tip/hash'), JSON.parse(minedViaApi.text).hashes[0]);
    const badDev = await raw('/api/dev/mine', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"blocks":0}' });
    assert.equal(badDev.status, 400);
    assert.equal(JSON.parse(badDev.text).error.code, 'BAD_REQUEST', 'JSON errors under /api/dev/ as under /dev/');
    const badTx = await raw('/api/tx', { method: 'POST', body: 'zz' });
    assert.equal(badTx.status, 400);
    assert.match(badTx.text, /MALFORMED_TX/);
    // The project's own adapter with a public-server style base URL.
    const backend = new EsploraBackend({ baseUrl: `${server.url}/api`, network: 'regtest' });
    assert.deepEqual(await backend.getTip(), devnet.tip());
    assert.equal((await backend.getScriptUtxos(key.script))[0]!.value, 10_000);
  });

  it('sends Access-Control-Allow-Origin: * on every answer and answers OPTIONS preflights', async () => {
    for (const [path, status] of [['/blocks/tip/height', 200], [`/tx/${randomTxid()}`, 404], ['/tx/nothex', 400], ['/api/fee-estimates', 200], ['/nope', 404]] as const) {
      const r = await raw(path, { headers: { origin: 'https://wallet.example' } });
      assert.equal(r.status, status, path);
      assert.equal(r.headers.get('access-control-allow-origin'), '*', path);
    }
    const posted = await raw('/tx', { method: 'POST', body: 'zz', headers: { origin: 'https://wallet.example' } });
    assert.equal(posted.headers.get('access-control-allow-origin'), '*');
    const pre = await raw('/api/dev/faucet', {
      method: 'OPTIONS',
      headers: { origin: 'https://wallet.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
    assert.match(pre.headers.get('access-control-allow-methods') ?? '', /\bPOST\b/);
    assert.match(pre.headers.get('access-control-allow-methods') ?? '', /\bGET\b/);
    assert.equal(pre.headers.get('access-control-allow-headers'), 'content-type');
  });

  it('GET /address/:address and /scripthash/:hash give chain_stats and mempool_stats', async () => {
    const key = newKey();
    const scripthash = hex.encode(sha256(key.script));
    assert.deepEqual(await getJson(`/address/${key.address}`), { address: key.address, chain_stats: zeroStats, mempool_stats: zeroStats });

    const fund = await faucet(key.address, 50_000);
    const pending = await getJson(`/address/${key.address}`);
    assert.deepEqual(Object.keys(pending.mempool_stats).sort(), STATS_KEYS);
    assert.deepEqual(pending.chain_stats, zeroStats);
    assert.deepEqual(pending.mempool_stats, { funded_txo_count: 1, funded_txo_sum: 50_000, spent_txo_count: 0, spent_txo_sum: 0, tx_count: 1 });

    await mine();
    const funded = { funded_txo_count: 1, funded_txo_sum: 50_000, spent_txo_count: 0, spent_txo_sum: 0, tx_count: 1 };
    assert.deepEqual(await getJson(`/address/${key.address}`), { address: key.address, chain_stats: funded, mempool_stats: zeroStats });

    // Spend it: 20,000 away, 29,000 change back to the same address, 1,000 fee.
    const paid = spend(key, [{ txid: fund, vout: voutOf(fund, key.script), value: 50_000 }], [
      { script: newKey().script, value: 20_000 },
      { script: key.script, value: 29_000 },
    ]);
    assert.equal((await postTx(paid.raw)).status, 200);
    const afterSpend = await getJson(`/address/${key.address}`);
    assert.deepEqual(afterSpend.chain_stats, funded);
    assert.deepEqual(afterSpend.mempool_stats, { funded_txo_count: 1, funded_txo_sum: 29_000, spent_txo_count: 1, spent_txo_sum: 50_000, tx_count: 1 });
    await mine();
    const confirmed = { funded_txo_count: 2, funded_txo_sum: 79_000, spent_txo_count: 1, spent_txo_sum: 50_000, tx_count: 2 };
    assert.deepEqual(await getJson(`/address/${key.address}`), { address: key.address, chain_stats: confirmed, mempool_stats: zeroStats });
    // Balance as wallets compute it: funded - spent.
    assert.equal(confirmed.funded_txo_sum - confirmed.spent_txo_sum, devnet.getScriptUtxos(key.script).reduce((s, u) => s + u.value, 0));
    assert.deepEqual(await getJson(`/scripthash/${scripthash}`), { scripthash, chain_stats: confirmed, mempool_stats: zeroStats });
    assert.deepEqual(await getJson(`/scripthash/${'11'.repeat(32)}`), { scripthash: '11'.repeat(32), chain_stats: zeroStats, mempool_stats: zeroStats });

    // History and utxos agree with the totals.
    const txs = await getJson(`/address/${key.address}/txs`);
    assert.deepEqual(txs.map((t: { txid: string }) => t.txid), [paid.txid, fund]);
    assert.deepEqual(await getJson(`/address/${key.address}/utxo`), [
      { txid: paid.txid, vout: 1, status: txs[0].status, value: 29_000 },
    ]);
    assert.deepEqual(await getJson(`/scripthash/${scripthash}/utxo`), await getJson(`/address/${key.address}/utxo`));

    await getText('/address/notanaddress', 400);
    await getText('/address/bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq', 400); // mainnet
    await getText('/scripthash/xyz', 400);
  });

  it('pages a block\'s transactions 25 at a time and gives a txid by index', async () => {
    const key = newKey();
    for (let i = 0; i < 30; i++) await faucet(key.address, 1_000 + i);
    const [hash] = await mine();
    const { txids } = devnet.getBlock(hash!)!;
    assert.equal(txids.length, 31, 'coinbase + 30');

    const first = await getJson(`/block/${hash}/txs`);
    assert.deepEqual(first.map((t: { txid: string }) => t.txid), txids.slice(0, 25));
    assert.deepEqual(await getJson(`/block/${hash}/txs/0`), first);
    const second = await getJson(`/block/${hash}/txs/25`);
    assert.deepEqual(second.map((t: { txid: string }) => t.txid), txids.slice(25));
    const status = { confirmed: true, block_height: devnet.getBlock(hash!)!.height, block_hash: hash, block_time: devnet.getBlock(hash!)!.time };
    for (const tx of [...first, ...second]) assert.deepEqual(tx.status, status);
    assert.equal(first[0].vin[0].is_coinbase, true);
    assert.deepEqual(second[0], await getJson(`/tx/${txids[25]}`));

    assert.equal(await getText(`/block/${hash}/txs/50`, 404), 'start index out of range');
    assert.equal(await getText(`/block/${hash}/txs/10`, 400), 'start index must be a multiple of 25');
    await getText(`/block/${hash}/txs/-25`, 400);
    assert.equal(await getText(`/block/${'00'.repeat(32)}/txs`, 404), 'Block not found');

    for (const i of [0, 1, 25, 30]) assert.equal(await getText(`/block/${hash}/txid/${i}`), txids[i]);
    assert.equal(await getText(`/block/${hash}/txid/31`, 404), 'tx index out of range');
    assert.equal(await getText(`/block/${'00'.repeat(32)}/txid/0`, 404), 'Block not found');
  });

  it('serves blocks, block status and tips as electrs does', async () => {
    const [a, b] = await mine(2);
    const tip = devnet.tip();
    assert.equal(tip.hash, b);
    assert.equal(await getText('/blocks/tip/height'), String(tip.height));
    assert.equal(await getText('/blocks/tip/hash'), b);
    assert.equal(await getText(`/block-height/${tip.height - 1}`), a);
    assert.deepEqual(await getJson(`/block/${a}/status`), { in_best_chain: true, height: tip.height - 1, next_best: b });
    assert.deepEqual(await getJson(`/block/${b}/status`), { in_best_chain: true, height: tip.height });
    assert.deepEqual(await getJson(`/block/${'00'.repeat(32)}/status`), { in_best_chain: false });
    assert.equal((await getText(`/block/${b}/header`)).length, 160);
    const recent = await getJson('/blocks');
    assert.deepEqual(recent.map((x: { id: string }) => x.id).slice(0, 2), [b, a]);
    assert.deepEqual((await getJson(`/blocks/${tip.height - 1}`))[0].id, a);
    assert.equal(await getText(`/blocks/${tip.height + 1}`, 404), 'Block not found');
  });

  it('disassembles scripts into *_asm fields, inner redeem and witness scripts included', async () => {
    // A P2SH-P2WSH output locked to <pubkey> OP_CHECKSIG: both inner scripts show on the spend.
    const secret = secp256k1.utils.randomSecretKey();
    const pub = secp256k1.getPublicKey(secret, true);
    const pay = p2sh(p2wsh(p2pk(pub), REGTEST), REGTEST);
    const fund = await faucet(pay.address!, 40_000);
    await mine();
    const fundTx = await getJson(`/tx/${fund}`);
    const out = fundTx.vout.find((o: { scriptpubkey: string }) => o.scriptpubkey === hex.encode(pay.script));
    assert.equal(out.scriptpubkey_type, 'p2sh');
    assert.equal(out.scriptpubkey_asm, `OP_HASH160 OP_PUSHBYTES_20 ${hex.encode(pay.script.subarray(2, 22))} OP_EQUAL`);
    // The faucet spends P2WPKH: empty scriptSig, P2WPKH prevout asm.
    assert.equal(fundTx.vin[0].scriptsig_asm, '');
    assert.match(fundTx.vin[0].prevout.scriptpubkey_asm, /^OP_0 OP_PUSHBYTES_20 [0-9a-f]{40}$/);
    assert.equal('inner_redeemscript_asm' in fundTx.vin[0], false);
    assert.equal('inner_witnessscript_asm' in fundTx.vin[0], false);

    const tx = new Transaction({ allowUnknownOutputs: true });
    tx.addInput({ txid: fund, index: fundTx.vout.indexOf(out), witnessUtxo: { script: pay.script, amount: 40_000n }, ...pay });
    const dest = newKey();
    tx.addOutput({ script: dest.script, amount: 39_000n });
    tx.addOutput({ script: new Uint8Array([0x6a, 0x04, 0xde, 0xad, 0xbe, 0xef]), amount: 0n });
    tx.sign(secret);
    tx.finalize();
    const sent = await postTx(tx.extract());
    assert.equal(sent.status, 200, sent.text);
    const shown = await getJson(`/tx/${tx.id}`);
    const vin = shown.vin[0];
    const witnessScript = pay.witnessScript!;
    assert.equal(vin.scriptsig_asm, `OP_PUSHBYTES_34 ${hex.encode(pay.redeemScript!)}`);
    assert.equal(vin.inner_redeemscript_asm, `OP_0 OP_PUSHBYTES_32 ${hex.encode(sha256(witnessScript))}`);
    assert.equal(vin.inner_witnessscript_asm, `OP_PUSHBYTES_33 ${hex.encode(pub)} OP_CHECKSIG`);
    assert.equal(vin.witness[vin.witness.length - 1], hex.encode(witnessScript));
    assert.deepEqual(
      shown.vout.map((o: { scriptpubkey_asm: string; scriptpubkey_type: string }) => [o.scriptpubkey_type, o.scriptpubkey_asm]),
      [
        ['v0_p2wpkh', `OP_0 OP_PUSHBYTES_20 ${hex.encode(dest.script.subarray(2))}`],
        ['op_return', 'OP_RETURN OP_PUSHBYTES_4 deadbeef'],
      ],
    );
    // Coinbase scriptSigs are disassembled too (BIP34 height push first).
    const [block] = await mine();
    const coinbase = (await getJson(`/block/${block}/txs`))[0];
    assert.match(coinbase.vin[0].scriptsig_asm, /^OP_PUSHBYTES_[1-4] [0-9a-f]+/);
  });

  it('pages script history with :last_seen_txid and with ?after_txid=, for addresses and script hashes', async () => {
    const key = newKey();
    const scripthash = hex.encode(sha256(key.script));
    for (let i = 0; i < 30; i++) {
      await faucet(key.address, 2_000 + i);
      if (i % 10 === 9) await mine();
    }
    const pending = [await faucet(key.address, 5_000), await faucet(key.address, 5_001)];
    const first = await getJson(`/address/${key.address}/txs`);
    const ids = (list: { txid: string }[]) => list.map((t) => t.txid);
    assert.deepEqual(ids(first.slice(0, 2)), [...pending].reverse(), 'mempool first, newest first');
    const chainFirst = first.slice(2);
    assert.equal(chainFirst.length, 25);
    const last = chainFirst[24].txid as string;
    const rest = await getJson(`/address/${key.address}/txs/chain/${last}`);
    assert.equal(rest.length, 5);
    assert.equal(new Set([...ids(chainFirst), ...ids(rest)]).size, 30);
    for (const path of [
      `/address/${key.address}/txs?after_txid=${last}`,
      `/address/${key.address}/txs/chain?after_txid=${last}`,
      `/scripthash/${scripthash}/txs/chain/${last}`,
      `/scripthash/${scripthash}/txs?after_txid=${last}`,
      `/api/address/${key.address}/txs/chain/${last.toUpperCase()}`,
    ]) {
      assert.deepEqual(ids(await getJson(path)), ids(rest), path);
    }
    assert.deepEqual(ids(await getJson(`/address/${key.address}/txs/chain`)), ids(chainFirst));
    // After the newer mempool transaction: the older one, then the first confirmed page.
    assert.deepEqual(ids(await getJson(`/address/${key.address}/txs?after_txid=${pending[1]}`)), [pending[0]!, ...ids(chainFirst)]);
    assert.deepEqual(await getJson(`/address/${key.address}/txs/chain/${randomTxid()}`), []);
    assert.deepEqual(await getJson(`/address/${key.address}/txs/chain/${rest[4].txid}`), []);
    await getText(`/address/${key.address}/txs?after_txid=nothex`, 400);
    const backend = new EsploraBackend({ baseUrl: server.url, network: 'regtest' });
    assert.equal((await backend.getScriptHistory(key.script)).length, 32);
  });

  it('gives fee estimates for targets 1-25, 144, 504 and 1008 and recent mempool entries', async () => {
    const fees = await getJson('/fee-estimates');
    const expectedKeys = [...Array.from({ length: 25 }, (_, i) => String(i + 1)), '144', '504', '1008'];
    assert.deepEqual(Object.keys(fees).sort((x, y) => Number(x) - Number(y)), expectedKeys);
    assert.deepEqual(FEE_TARGETS.map(String), expectedKeys);
    for (const k of expectedKeys) assert.ok(Number.isFinite(fees[k]) && fees[k] >= 1, `${k}: ${fees[k]}`);

    const key = newKey();
    const txid = await faucet(key.address, 7_000);
    const recent = await getJson('/mempool/recent');
    assert.ok(recent.length >= 1 && recent.length <= 10);
    const info = devnet.getTx(txid)!;
    const json = await getJson(`/tx/${txid}`);
    assert.deepEqual(recent[0], {
      txid,
      fee: info.fee,
      vsize: Math.ceil(info.weight / 4),
      value: json.vout.reduce((s: number, o: { value: number }) => s + o.value, 0),
    });
  });

  it('answers an unknown transaction like electrs: 404 for the tx, unconfirmed status, unspent outputs', async () => {
    const unknown = randomTxid();
    assert.equal(await getText(`/tx/${unknown}`, 404), 'Transaction not found');
    assert.equal(await getText(`/tx/${unknown}/hex`, 404), 'Transaction not found');
    assert.deepEqual(await getJson(`/tx/${unknown}/status`), { confirmed: false });
    assert.deepEqual(await getJson(`/api/tx/${unknown}/status`), { confirmed: false });
    assert.deepEqual(await getJson(`/tx/${unknown}/outspend/0`), { spent: false });
    assert.equal(await getText(`/tx/${unknown}/outspends`, 404), 'Transaction not found');
    // The adapter still tells unknown from unconfirmed, and a missing output from an unspent one.
    const backend = new EsploraBackend({ baseUrl: `${server.url}/api`, network: 'regtest' });
    await assert.rejects(backend.getTxStatus(unknown), (e: unknown) => ChainError.is(e, 'NOT_FOUND'));
    await assert.rejects(backend.getOutspend(unknown, 0), (e: unknown) => ChainError.is(e, 'NOT_FOUND'));
    const key = newKey();
    const txid = await faucet(key.address, 3_000);
    assert.deepEqual(await backend.getTxStatus(txid), { confirmed: false });
    assert.deepEqual(await backend.getOutspend(txid, voutOf(txid, key.script)), { spent: false });
    await assert.rejects(backend.getOutspend(txid, 9), (e: unknown) => ChainError.is(e, 'NOT_FOUND'));
  });
});
