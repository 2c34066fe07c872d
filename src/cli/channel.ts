/**
 * `satpost channel open | list | close`: payment channels with relays (docs/cli.md "channel").
 * A channel locks sats with one relay once (one funding transaction); then every message at that
 * relay is paid with an HTLC inside it, with no transaction on chain and no confirmation wait,
 * until a cooperative close returns what was not spent.
 */
import type { Command } from 'commander';
import type { ChannelSummary } from '../client/channels.ts';
import { sats } from './money.ts';
import { examples, integerArg, output, progress, withClient, withClientOptions, type ClientFlags } from './context.ts';

interface OpenFlags extends ClientFlags {
  sats: number;
  blocks?: number;
}

export function registerChannelCommands(program: Command): void {
  const channel = program
    .command('channel')
    .description('payment channels: pay a relay for many messages with one funding transaction')
    .addHelpText(
      'after',
      `
A channel locks --sats with one relay. Messages sent through that relay (sender-pays) and
messages read from it (recipient-pays) are then paid inside the channel: no transaction on
chain per message, and k comes at once. The channel is usable once its funding has confirmed
(the relay's information document says how deep: "confirmations"); until then it is "opening"
and messages are paid on chain as usual. \`channel close\` closes it cooperatively: the relay
keeps what was paid, the rest comes back to your wallet. If the relay disappears, nothing is
lost: from the expiry block (T_ch) the sats come back by themselves the next time satpost runs.
`,
    );

  withClientOptions(
    channel
      .command('open')
      .description('open a channel with a relay (one funding transaction from your wallet)')
      .argument('<relay>', 'the relay URL, e.g. http://127.0.0.1:8090')
      .requiredOption('--sats <n>', 'capacity: the most the channel can pay (within the relay\'s terms)', integerArg('sats', 1, 21e14))
      .option('--blocks <n>', 'the channel\'s life in blocks: expiry = tip + n (default 1008, about a week)', integerArg('blocks', 1, 1_000_000)),
  )
    .addHelpText('after', examples('satpost channel open http://127.0.0.1:8090 --sats 200000', 'satpost channel open http://127.0.0.1:8090 --sats 50000 --blocks 288 --json'))
    .action(async (relay: string, _o: OpenFlags, cmd: Command) => {
      const flags = cmd.opts<OpenFlags>();
      await withClient(flags, async (client) => {
        progress(flags, `funding a channel of ${flags.sats} sats with ${relay}...`);
        const opened = await client.openChannel(relay, { sats: flags.sats, ...(flags.blocks !== undefined ? { blocks: flags.blocks } : {}) });
        output(flags, { channel: opened }, () => [
          `channel ${opened.id} with ${opened.relay}: ${opened.capacity} sats, ${opened.status}`,
          `funding ${opened.fundingTxid}; usable once it confirms (\`satpost channel list\` shows "open")`,
          `expires at block ${opened.expiry}${opened.blocksLeft !== undefined ? ` (${opened.blocksLeft} blocks)` : ''}`,
        ]);
      });
    });

  withClientOptions(channel.command('list').description('list your channels: relay, status, balances, in flight, expiry'))
    .addHelpText('after', examples('satpost channel list', 'satpost channel list --json'))
    .action(async (_o: ClientFlags, cmd: Command) => {
      const flags = cmd.opts<ClientFlags>();
      await withClient(flags, async (client) => {
        // Settles of messages read since the last run are taken first, and opening channels confirmed.
        try {
          await client.resume();
        } catch (err) {
          process.stderr.write(`warning: channels were not synced with their relays: ${(err as Error).message}\n`);
        }
        const channels = await client.channels();
        output(flags, { channels }, () => (channels.length === 0 ? ['no channels'] : channels.flatMap(channelLines)));
      });
    });

  withClientOptions(
    channel
      .command('close')
      .description('close a channel cooperatively: the relay keeps what was paid, the rest returns to your wallet')
      .argument('<id>', 'the channel id from `satpost channel list` (a unique prefix is enough)'),
  )
    .addHelpText('after', examples('satpost channel close 3f2a9c1b'))
    .action(async (id: string, _o: ClientFlags, cmd: Command) => {
      const flags = cmd.opts<ClientFlags>();
      await withClient(flags, async (client) => {
        const closed = await client.closeChannel(id);
        output(flags, { channel: closed }, () => [
          `channel ${closed.id}: ${closed.status}; close ${closed.closeTxid ?? 'pending'}`,
          `the relay keeps ${sats(closed.relayBalance)}; ${sats(closed.payerBalance - (closed.closeFee ?? 0))} come back to your wallet once it confirms (yours ${sats(closed.payerBalance)} less the close fee ${closed.closeFee !== undefined ? sats(closed.closeFee) : 'not known yet'})`,
        ]);
      });
    });
}

function channelLines(c: ChannelSummary): string[] {
  const left = c.blocksLeft !== undefined ? `, ${c.blocksLeft} blocks left` : '';
  return [
    `${c.id.slice(0, 16)}  ${c.relay}  ${c.status}${c.relayTold ? '' : ' (relay not told yet)'}`,
    `  capacity ${c.capacity} sats: yours ${c.payerBalance}, relay's ${c.relayBalance}, in flight ${c.inFlight} (${c.inFlightSats} sats); expires at block ${c.expiry}${left}`,
    ...(c.problem ? [`  problem: ${c.problem}`] : []),
  ];
}
