/**
 * `satpost relay wallet balance|address|send|history|recovery`: the relay operator's view of
 * what the relay earns (contracts claimed on chain, HTLCs settled in channels), the fees it
 * paid, and a way to spend it. Opens the relay's wallet file next to a running relay (SQLite
 * WAL: reads never block it); the passphrase is the relay's (SATPOST_RELAY_PASSPHRASE or
 * --config), else the random one the relay keeps in <dataDir>/wallet-passphrase.
 */
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigInput, RelayConfig } from '../relay/config.ts';
import type { RelayEarnings, RelayWallet } from '../relay/wallet.ts';
import type { HistoryEntry } from '../wallet/index.ts';
import { examples, integerArg, output, positiveNumberArg, progress } from './context.ts';
import { defaultDataDir } from './data-dir.ts';
import { CliError } from './errors.ts';
import { sats } from './money.ts';
import { getPassphrase } from './passphrase.ts';

interface RelayWalletFlags {
  dataDir?: string;
  config?: string;
  chain?: string;
  network?: string;
  json?: boolean;
}

function withRelayWalletOptions(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'the relay\'s data directory (default: <satpost data dir>/relay)')
    .option('--config <file>', 'the relay\'s JSON settings file (for its passphrase, chain and network)')
    .option('--chain <url>', 'Esplora API root of the chain the relay uses')
    .option('--network <name>', 'regtest, signet, testnet or mainnet (default: the relay\'s)')
    .option('--json', 'print one JSON object on stdout');
}

async function withRelayWallet<T>(f: RelayWalletFlags, use: (rw: RelayWallet, config: RelayConfig) => Promise<T> | T): Promise<T> {
  const { loadConfig } = await import('../relay/config.ts');
  const { openRelayDataKey, openRelayWallet } = await import('../relay/wallet.ts');
  const { EsploraBackend } = await import('../chain/esplora/backend.ts');
  const { pino } = await import('pino');
  const flags: ConfigInput = { dataDir: f.dataDir, chainUrl: f.chain, network: f.network };
  const config = loadConfig({ ...(f.config ? { file: f.config } : {}), env: process.env, flags });
  if (config.dataDir === '') config.dataDir = join(defaultDataDir(), 'relay');
  // Never create a wallet here: a mistyped directory must not become an empty relay wallet.
  if (!existsSync(join(config.dataDir, 'wallet.sqlite'))) {
    throw new CliError('NOT_RELAY_DATA_DIR', `${config.dataDir} holds no relay wallet (wallet.sqlite)`);
  }
  const backend = config.chainUrl ? new EsploraBackend({ baseUrl: config.chainUrl, network: config.network }) : undefined;
  const unlock = openRelayDataKey(config, { log: pino({ level: 'silent' }) });
  const rw = openRelayWallet(config, { unlock, ...(backend ? { backend } : {}) });
  try {
    if (backend) {
      progress(f, `syncing the relay wallet with ${config.chainUrl}...`);
      await rw.wallet.sync();
    }
    return await use(rw, config);
  } finally {
    rw.close();
  }
}

export function registerRelayWalletCommands(relay: Command): void {
  const wallet = relay
    .command('wallet')
    .description('the relay\'s Bitcoin wallet: what it earned (contracts, channels), fees paid, withdrawals')
    .addHelpText('after', examples('satpost relay wallet balance --data-dir ./relay --chain http://127.0.0.1:3002'));

  withRelayWalletOptions(wallet.command('balance').description('the wallet balance and the earnings by source'))
    .action(async (_o: RelayWalletFlags, cmd: Command) => {
      const f = cmd.opts<RelayWalletFlags>();
      await withRelayWallet(f, async (rw) => {
        const { relayEarnings } = await import('../relay/wallet.ts');
        const balance = rw.wallet.balance();
        const earnings = relayEarnings(rw);
        output(f, { balance, earnings }, () => earningsLines(balance.confirmed, balance.unconfirmed, earnings));
      });
    });

  withRelayWalletOptions(wallet.command('address').description('a new address of the relay wallet'))
    .action(async (_o: RelayWalletFlags, cmd: Command) => {
      const f = cmd.opts<RelayWalletFlags>();
      await withRelayWallet(f, (rw) => {
        const { address } = rw.wallet.newReceiveAddress();
        output(f, { address }, () => [address]);
      });
    });

  withRelayWalletOptions(
    wallet
      .command('send')
      .description('withdraw: pay from the relay wallet to an address')
      .argument('<address>', 'Bitcoin address of the relay\'s network')
      .argument('<sats>', 'amount in satoshis', integerArg('sats', 1, 21e14))
      .option('--fee-rate <sat/vB>', 'fee rate in sat/vB (default: the chain\'s estimate for 6 blocks)', positiveNumberArg('fee rate')),
  )
    .addHelpText('after', examples('satpost relay wallet send bcrt1q... 25000 --data-dir ./relay'))
    .action(async (address: string, amount: number, _o: RelayWalletFlags, cmd: Command) => {
      const f = cmd.opts<RelayWalletFlags & { feeRate?: number }>();
      await withRelayWallet(f, async (rw) => {
        const sent = await rw.wallet.send(address, amount, f.feeRate !== undefined ? { feeRate: f.feeRate } : {});
        output(f, { sent: { txid: sent.txid, address, sats: amount, fee: sent.fee, feeRate: sent.feeRate, total: amount + sent.fee } }, () => [
          `sent ${sats(amount)} to ${address}; fee ${sats(sent.fee)} (${sent.feeRate} sat/vB); the wallet paid ${sats(amount + sent.fee)}`,
          `txid ${sent.txid}`,
        ]);
      });
    });

  withRelayWalletOptions(wallet.command('history').description('the relay wallet\'s transactions, each with what it was for'))
    .action(async (_o: RelayWalletFlags, cmd: Command) => {
      const f = cmd.opts<RelayWalletFlags>();
      await withRelayWallet(f, (rw) => {
        const purposes = relayPurposes(rw);
        const history = rw.wallet
          .history()
          .filter((h) => h.state !== 'abandoned')
          .map((h) => ({ ...h, purpose: purposes.get(h.txid) ?? (h.own ? 'withdrawal' : 'received') }));
        output(f, { history }, () => (history.length === 0 ? ['no transactions yet'] : history.map((h) => relayHistoryLine(h))));
      });
    });

  withRelayWalletOptions(wallet.command('recovery').description('show the relay wallet\'s recovery phrase (asks for the relay passphrase)'))
    .action(async (_o: RelayWalletFlags, cmd: Command) => {
      const f = cmd.opts<RelayWalletFlags>();
      await withRelayWallet(f, async (rw, config) => {
        const { relayWalletPassphrase } = await import('../relay/wallet.ts');
        // Asked again even when the relay is configured with it: showing the phrase is a spend in waiting.
        const passphrase = config.passphrase !== ''
          ? await getPassphrase(config.dataDir, { confirm: false }, { env: { SATPOST_PASSPHRASE: process.env.SATPOST_RELAY_PASSPHRASE }, input: process.stdin, output: process.stderr })
          : relayWalletPassphrase(config);
        const { mnemonic } = rw.wallet.revealMnemonic(passphrase);
        output(f, { mnemonic }, () => [mnemonic, 'write this down and keep it offline: it restores the relay\'s wallet']);
      });
    });
}

function earningsLines(confirmed: number, unconfirmed: number, e: RelayEarnings): string[] {
  return [
    `wallet:       ${sats(confirmed)} confirmed${unconfirmed !== 0 ? `, ${sats(unconfirmed)} unconfirmed` : ''}`,
    `earned on chain (contracts): ${sats(e.contracts.claimed)} claimed${e.contracts.claiming > 0 ? `, ${sats(e.contracts.claiming)} being claimed` : ''} (${e.contracts.count} contracts)`,
    `earned in channels:          ${sats(e.channels.earned)}${e.channels.inOpenChannels > 0 ? `, of which ${sats(e.channels.inOpenChannels)} in channels not closed yet` : ''} (${e.channels.count} channels)`,
    `fees paid:                   ${sats(e.fees.claims)} on claims, ${sats(e.fees.wallet)} on withdrawals`,
  ];
}

/** What each of the relay's own transactions was: a contract claim or a channel close/claim/sweep. */
function relayPurposes(rw: RelayWallet): Map<string, string> {
  const purposes = new Map<string, string>();
  for (const c of rw.book.list('relay')) {
    if (c.claimTxid) purposes.set(c.claimTxid, `claim of contract ${c.id.slice(0, 12)} (${c.amount} sat)`);
  }
  for (const ch of rw.channelBook.list('relay')) {
    const id = ch.id.slice(0, 12);
    if (ch.closeTxid) purposes.set(ch.closeTxid, `close of channel ${id}`);
    if (ch.claimTxid) purposes.set(ch.claimTxid, `claim in channel ${id}`);
    if (ch.sweepTxid) purposes.set(ch.sweepTxid, `sweep of channel ${id}`);
    if (ch.commitmentTxid) purposes.set(ch.commitmentTxid, `force close of channel ${id}`);
  }
  return purposes;
}

function relayHistoryLine(h: HistoryEntry & { purpose: string }): string {
  const when = h.blockTime !== null ? new Date(h.blockTime * 1000).toISOString().slice(0, 16).replace('T', ' ') : h.state.padEnd(16);
  const net = `${h.net >= 0 ? '+' : '-'}${sats(Math.abs(h.net))}`;
  return `${when}  ${net.padStart(16)}  ${h.purpose}  ${h.txid.slice(0, 16)}${h.own && h.fee !== null ? `  fee ${sats(h.fee)}` : ''}`;
}
