// A relay operator's money story through the CLI, as separate processes: the relay shows its
// recovery phrase once at first start; it earns on chain (a sender-pays message read, its claim
// confirmed) and in a channel (an HTLC settled); `satpost relay wallet balance` shows both sources;
// `relay wallet send` withdraws to an address; `relay wallet history` says what each row was for;
// client commands pointed at the relay's directory say to use `satpost relay wallet`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseEnv, devPost, json, run, startDevnet, startRelay, type Listening } from './helpers.ts';

const LIMITS = ['--max-fee', '5000', '--retention-days', '0.1'];

interface Earnings {
  contracts: { claimed: number; claiming: number; count: number };
  channels: { earned: number; inOpenChannels: number; count: number };
  fees: { claims: number; wallet: number };
}
interface Row { txid: string; net: number; purpose: string; own: boolean; fee: number | null }

describe('satpost relay wallet (processes)', { timeout: 900_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'satpost-cliop-'));
  const relayDir = join(root, 'relay');
  const dirs = { alice: join(root, 'alice'), carol: join(root, 'carol') };
  const as = (who: 'alice' | 'carol', args: string[]) => run([...args, '--data-dir', dirs[who]], baseEnv({ SATPOST_PASSPHRASE: `${who} pw` }));
  let devnet: Listening;
  let relay: Listening;
  const operator = (args: string[]) => run(['relay', 'wallet', ...args, '--data-dir', relayDir, '--chain', devnet.url], baseEnv());
  const mine = (blocks = 1) => devPost<unknown>(devnet.url, '/dev/mine', { blocks });
  const earnings = async () => json<{ earnings: Earnings; balance: { confirmed: number; unconfirmed: number } }>(await operator(['balance', '--json']));
  /** Mines a block per try until the relay's books show `done` (the relay acts at each new tip). */
  const mineUntil = async (done: (e: Earnings) => boolean, what: string) => {
    for (let i = 0; i < 30; i++) {
      if (done((await earnings()).earnings)) return;
      await mine();
    }
    assert.fail(`the relay never got to: ${what}`);
  };

  before(async () => {
    devnet = await startDevnet(join(root, 'chain'));
    relay = await startRelay(relayDir, devnet.url);
  });
  after(async () => {
    for (const p of [relay, devnet]) {
      p.child.kill('SIGTERM');
      await p.exited;
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('earns on chain and in a channel, shows both, withdraws, and explains every row', async () => {
    // First start: the phrase on stderr with a line telling the operator to write it down.
    const shown = /recovery phrase:\n\n {4}([a-z]+(?: [a-z]+){11})\n\nwrite this down/.exec(relay.stderr());
    assert.ok(shown, `the first start shows the recovery phrase: ${relay.stderr()}`);
    assert.equal(json<{ mnemonic: string }>(await operator(['recovery', '--json'])).mnemonic, shown[1], 'recovery shows the same phrase');

    // A client command on the relay's directory names the command that works there.
    const wrongDir = await run(['wallet', 'balance', '--data-dir', relayDir], baseEnv({ SATPOST_PASSPHRASE: 'x' }));
    assert.equal(wrongDir.code, 1);
    assert.match(wrongDir.stderr, /^error \[RELAY_DATA_DIR\]: .*; .*`satpost relay wallet balance\|address\|send\|history\|recovery --data-dir DIR`\n$/m);
    assert.equal(JSON.parse((await run(['wallet', 'balance', '--data-dir', relayDir, '--json'], baseEnv({ SATPOST_PASSPHRASE: 'x' }))).stdout).error.code, 'RELAY_DATA_DIR');

    const [ai, ci] = await Promise.all([
      as('alice', ['init', '--relay', relay.url, '--chain', devnet.url, '--json']),
      as('carol', ['init', '--relay', relay.url, '--chain', devnet.url, '--json']),
    ]);
    const carolAddress = json<{ address: string }>(ci).address;
    assert.equal((await as('alice', ['contact', 'add', 'carol', carolAddress])).code, 0);
    assert.equal((await as('carol', ['contact', 'add', 'alice', json<{ address: string }>(ai).address])).code, 0);
    const aliceWallet = json<{ address: string }>(await as('alice', ['wallet', 'address', '--json'])).address;
    await devPost(devnet.url, '/dev/faucet', { address: aliceWallet, sats: 300_000 });
    await mine();

    // On chain: a sender-pays message, read by Carol; the relay claims its contract.
    const onChain = json<{ sent: { id: string; price: number } }>(await as('alice', ['send', 'carol', 'on chain', ...LIMITS, '--no-channel', '--json'])).sent;
    await mine();
    assert.equal(json<{ messages: unknown[] }>(await as('carol', ['inbox', '--json'])).messages.length, 1);
    assert.equal((await as('carol', ['read', onChain.id])).code, 0);
    await mineUntil((e) => e.contracts.claimed === onChain.price, 'its claim confirmed');

    // In a channel: Alice opens one with the relay and sends through it; Carol's read settles the HTLC.
    json(await as('alice', ['channel', 'open', relay.url, '--sats', '50000', '--json']));
    await mine();
    const viaChannel = json<{ sent: { id: string; price: number; via: string } }>(await as('alice', ['send', 'carol', 'in a channel', ...LIMITS, '--json'])).sent;
    assert.equal(viaChannel.via, 'channel');
    assert.equal((await as('carol', ['read', viaChannel.id])).code, 0);
    // Alice's next command takes the relay's settle: the HTLC is folded into the relay's balance.
    assert.equal((await as('alice', ['channel', 'list'])).code, 0);
    await mineUntil((e) => e.channels.earned === viaChannel.price, 'the HTLC settled');

    const { earnings: e, balance } = await earnings();
    assert.deepEqual(
      { contracts: e.contracts.claimed, contractCount: e.contracts.count, channels: e.channels.earned, inOpen: e.channels.inOpenChannels },
      { contracts: onChain.price, contractCount: 1, channels: viaChannel.price, inOpen: viaChannel.price },
    );
    assert.ok(e.fees.claims > 0, 'the claim paid a fee');
    assert.equal(balance.confirmed, onChain.price - e.fees.claims, 'the wallet holds the claim less its fee');
    const text = await operator(['balance']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /earned on chain \(contracts\): [0-9,]+ sat claimed/);
    assert.match(text.stdout, /earned in channels: +[0-9,]+ sat, of which [0-9,]+ sat in channels not closed yet/);

    // Coins received at `relay wallet address`, then a withdrawal to an address outside the relay.
    const own = json<{ address: string }>(await operator(['address', '--json'])).address;
    await devPost(devnet.url, '/dev/faucet', { address: own, sats: 10_000 });
    await mine();
    const to = json<{ address: string }>(await as('alice', ['wallet', 'address', '--json'])).address;
    const sent = json<{ sent: { txid: string; sats: number; fee: number; total: number } }>(await operator(['send', to, '1000', '--fee-rate', '2', '--json'])).sent;
    assert.equal(sent.total, 1000 + sent.fee);
    await mine();
    const after1 = await earnings();
    assert.equal(after1.balance.confirmed, balance.confirmed + 10_000 - sent.total, 'the withdrawal took the amount and its fee');
    assert.equal(after1.earnings.fees.wallet, sent.fee);

    const history = json<{ history: Row[] }>(await operator(['history', '--json'])).history;
    assert.deepEqual(
      history.map((h) => h.purpose.replace(/[0-9a-f]{12}/, 'ID').replace(/\([0-9]+ sat\)/, '(N sat)')),
      ['claim of contract ID (N sat)', 'received', 'withdrawal'],
    );
    assert.equal(history[2]!.txid, sent.txid);
    assert.equal(history[2]!.net, -sent.total);
    const lines = await operator(['history']);
    assert.match(lines.stdout, /\+10,000 sat {2}received/);
  });
});
