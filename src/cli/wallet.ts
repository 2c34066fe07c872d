/** `satpost wallet address|balance|history|send`: the Bitcoin wallet that pays relays. */
import type { Command } from 'commander';
import type { Balance } from '../wallet/index.ts';
import type { HistoryRow, Purpose } from '../client/client.ts';
import { sats } from './money.ts';
import { examples, integerArg, output, positiveNumberArg, progress, withClient, withClientOptions, type ClientFlags } from './context.ts';

interface SendFlags extends ClientFlags {
  feeRate?: number;
}

export function registerWalletCommands(program: Command): void {
  const wallet = program
    .command('wallet')
    .description('your Bitcoin wallet, which pays relays for delivering your messages')
    .addHelpText('after', examples('satpost wallet address', 'satpost wallet balance'));

  withClientOptions(wallet.command('address').description('print a new address to receive bitcoin at'))
    .addHelpText('after', examples('satpost wallet address', 'satpost devnet faucet $(satpost wallet address) 100000 --chain http://127.0.0.1:3002'))
    .action(async (_opts: ClientFlags, cmd: Command) => {
      const flags = cmd.opts<ClientFlags>();
      await withClient(flags, (client) => {
        const address = client.walletAddress();
        output(flags, { address }, () => [address]);
      });
    });

  withClientOptions(wallet.command('balance').description('sync with the chain and print the balance in satoshis'))
    .addHelpText('after', examples('satpost wallet balance', 'satpost wallet balance --json'))
    .action(async (_opts: ClientFlags, cmd: Command) => {
      const flags = cmd.opts<ClientFlags>();
      await withClient(flags, async (client) => {
        progress(flags, `syncing the wallet with ${client.chainUrl}...`);
        const balance = await client.balance();
        output(flags, { balance }, () => balanceLines(balance));
      });
    });

  withClientOptions(wallet.command('history').description('sync with the chain and list the wallet\'s transactions, oldest first (unconfirmed last)'))
    .addHelpText('after', examples('satpost wallet history'))
    .action(async (_opts: ClientFlags, cmd: Command) => {
      const flags = cmd.opts<ClientFlags>();
      await withClient(flags, async (client) => {
        progress(flags, `syncing the wallet with ${client.chainUrl}...`);
        // Drafts never broadcast (send builds one to check the wallet can pay) are not listed: no money moved.
        const history = await client.history();
        output(flags, { history }, () => (history.length === 0 ? ['no transactions yet'] : history.map(historyLine)));
      });
    });

  withClientOptions(
    wallet
      .command('send')
      .description('pay bitcoin to an address')
      .argument('<address>', 'Bitcoin address of the wallet\'s network')
      .argument('<sats>', 'amount in satoshis', integerArg('sats', 1, 21e14))
      .option('--fee-rate <sat/vB>', 'fee rate in sat/vB (default: the chain\'s estimate for 6 blocks)', positiveNumberArg('fee rate')),
  )
    .addHelpText('after', examples('satpost wallet send bcrt1q... 25000 --fee-rate 2'))
    .action(async (address: string, amount: number, _opts: SendFlags, cmd: Command) => {
      const flags = cmd.opts<SendFlags>();
      await withClient(flags, async (client) => {
        progress(flags, `syncing the wallet with ${client.chainUrl}...`);
        const sent = await client.sendBitcoin(address, amount, flags.feeRate !== undefined ? { feeRate: flags.feeRate } : {});
        output(flags, { sent: { ...sent, address } }, () => [
          `sent ${sats(amount)} to ${address}, fee ${sats(sent.fee)} (${sent.feeRate} sat/vB); the wallet paid ${sats(amount + sent.fee)}`,
          `txid ${sent.txid}`,
        ]);
      });
    });
}

function balanceLines(b: Balance): string[] {
  const rows: [string, number, boolean][] = [
    ['confirmed', b.confirmed, true],
    ['unconfirmed', b.unconfirmed, true],
    ['immature', b.immature, b.immature > 0],
    ['reserved', b.reserved, b.reserved > 0],
    ['in contracts', b.lockedInContracts, b.lockedInContracts > 0],
  ];
  return rows.filter(([, , show]) => show).map(([label, n]) => `${`${label}:`.padEnd(14)}${sats(n)}`);
}

function historyLine(h: HistoryRow): string {
  const when = h.blockTime !== null ? new Date(h.blockTime * 1000).toISOString().slice(0, 16).replace('T', ' ') : h.state.padEnd(16);
  const net = `${h.net >= 0 ? '+' : '-'}${sats(Math.abs(h.net))}`;
  return `${when}  ${net.padStart(16)}  ${h.purposes.map(purposeText).join('; ')}${h.own && h.fee !== null ? ` (fee ${sats(h.fee)})` : ''}  ${h.txid}`;
}

/** "message 3f2a9c1b4d5e to carol", "channel open 0a1b2c3d4e5f", ... */
export function purposeText(p: Purpose): string {
  const msg = p.messageId !== undefined ? ` ${p.messageId.slice(0, 12)}` : '';
  const who = p.contact !== undefined ? ` ${p.direction ?? 'with'} ${p.contact}` : '';
  const ch = p.channelId !== undefined ? ` ${p.channelId.slice(0, 12)}` : '';
  switch (p.kind) {
    case 'message':
      return p.direction === 'from' ? `paid to read message${msg}${who}` : `message${msg}${who}`;
    case 'refund':
      return `refund of message${msg}${who}${ch ? ` (channel${ch})` : ''}`;
    case 'channel-open':
      return `channel open${ch}`;
    case 'channel-close':
      return `channel close${ch}`;
    case 'send':
      return p.to && p.to.length > 0 ? `sent ${p.to.map((o) => `${sats(o.amount)} to ${o.address ?? 'a script'}`).join(', ')}` : 'sent to an address';
    case 'receive':
      return 'received';
  }
}
