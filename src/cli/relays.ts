/**
 * `satpost relays`: the relays of the network and their terms, found by a relay-info lookup
 * through one relay (--relay URL, else the relays of your config.json in order, until one
 * has a network). Every listed relay signed its own entry; entries that fail the check are
 * not listed and are counted as `forged`. Needs no passphrase.
 */
import { Option, type Command } from 'commander';
import { ClientError } from '../client/errors.ts';
import type { LookupResult, RelayListing } from '../client/lookup.ts';
import type { RelayChange } from '../client/client.ts';
import { dataDirOf, examples, integerArg, output, progress, withClient, withClientOptions, type ClientFlags } from './context.ts';

interface RelaysFlags extends ClientFlags {
  relay?: string;
  hops?: number;
}

export function registerRelaysCommand(program: Command): void {
  const relays = program
    .command('relays')
    .description('list the relays of the network (id, URL, prices, channels), as each relay signed them; `relays list|add|remove`: your own relays')
    .option('--relay <url>', 'ask the network through this relay (default: your relays from config.json)')
    .option('--hops <n>', 'how far the lookup spreads (the relay lowers it to its limit; default 3)', integerArg('hops', 0, 255))
    .option('--data-dir <dir>', 'data directory whose config.json names your relays')
    .addOption(new Option('--proxy <url>', 'SOCKS5 proxy for the lookup, e.g. Tor: socks5h://127.0.0.1:9050 (default: the one in config.json)').env('SATPOST_PROXY'))
    .option('--json', 'print one JSON object on stdout (errors as {"error":{"code","message"}})')
    .addHelpText('after', examples('satpost relays', 'satpost relays --relay http://127.0.0.1:8090 --json', 'satpost relays list', 'satpost relays add https://relay.example.org', 'satpost relays remove https://old.example.org'))
    .action(async (_opts: RelaysFlags, cmd: Command) => {
      const flags = cmd.opts<RelaysFlags>();
      const { DataDir } = await import('../client/datadir.ts');
      const { checkProxy, normalizeRelayUrls, readConfig } = await import('../client/config.ts');
      const { RelayClient } = await import('../client/relay-client.ts');
      const { Transport } = await import('../net/transport.ts');
      const { findRelays } = await import('../client/lookup.ts');
      const config = flags.relay !== undefined ? undefined : readConfig(new DataDir(dataDirOf(flags)));
      const urls = config === undefined ? normalizeRelayUrls([flags.relay]) : config.relays;
      const proxy = flags.proxy !== undefined ? checkProxy(flags.proxy) : config?.proxy;
      // Through the proxy when there is one, and held to the config's network's https rule.
      const transport = new Transport(proxy);
      const relayAt = (url: string) => new RelayClient(url, { transport, ...(config !== undefined ? { network: config.network } : {}) });
      if (urls.length === 0) throw new ClientError('NO_RELAYS', 'no relay to ask: pass --relay URL or add one to config.json');
      let result: LookupResult<RelayListing> | undefined;
      let via = '';
      let last: unknown;
      for (const url of urls) {
        try {
          result = await findRelays(relayAt(url), flags.hops !== undefined ? { hops: flags.hops } : {});
        } catch (err) {
          last = err;
          continue;
        }
        via = url;
        if (result !== undefined) break;
      }
      if (result === undefined) {
        if (last !== undefined && via === '') throw last;
        throw new ClientError('P2P_OFF', `none of ${urls.join(', ')} takes part in a relay network`);
      }
      const relays = result.found.map((r) => ({
        relayId: r.relayId, url: r.url, name: r.name, network: r.network, acceptedModes: r.acceptedModes, price: r.price,
        channels: r.channels !== undefined, ...(r.channels ? { channelTerms: r.channels } : {}),
        limits: { maxMessageBytes: r.maxMessageBytes, maxRetentionSecs: r.maxRetentionSecs },
        confirmations: r.confirmations, multiaddrs: r.multiaddrs,
      }));
      output(flags, { via, lookupId: result.lookupId, relays, forged: result.forged }, () => [
        `${relays.length} relay${relays.length === 1 ? '' : 's'} found through ${via}${result.forged > 0 ? ` (${result.forged} forged answer${result.forged === 1 ? '' : 's'} dropped)` : ''}`,
        ...relays.map((r) =>
          `${r.relayId.slice(0, 16)}…  ${r.url}  ${r.price.baseSats} sats + ${r.price.perBlockSats}/16 KiB + ${r.price.perDaySats}/day  modes ${r.acceptedModes.join(',')}  channels ${r.channels ? 'yes' : 'no'}${r.name ? `  "${r.name}"` : ''}`,
        ),
      ]);
    });
  registerOwnRelayCommands(relays);
}

/** The contacts side of a relay change, said by add and remove alike (and in docs/cli.md). */
const CONTACTS_NOTE =
  'your contacts keep the address they have until you give them this one (on their side: `satpost contact update NAME ADDRESS`); nothing in a message tells them';

/** `satpost relays list|add|remove`: the user's own relays (config.json "relays", the hints in her address). */
function registerOwnRelayCommands(relays: Command): void {
  withClientOptions(relays.command('list').description('list your own relays (config.json) and whether each answers now; needs no passphrase'))
    .addHelpText('after', examples('satpost relays list', 'satpost relays list --json'))
    .action(async (_opts: ClientFlags, cmd: Command) => {
      const flags = cmd.opts<ClientFlags>();
      const { DataDir } = await import('../client/datadir.ts');
      const { checkProxy, readConfig } = await import('../client/config.ts');
      const { RelayClient } = await import('../client/relay-client.ts');
      const { Transport } = await import('../net/transport.ts');
      const { checkRelays } = await import('../client/client.ts');
      const config = readConfig(new DataDir(dataDirOf(flags)));
      if (flags.network !== undefined && flags.network !== config.network) {
        throw new ClientError('NETWORK_MISMATCH', `"network" expected ${config.network} (the network of ${dataDirOf(flags)}), got ${flags.network}`);
      }
      const proxy = flags.proxy !== undefined ? checkProxy(flags.proxy) : config.proxy;
      const transport = new Transport(proxy);
      const statuses = await checkRelays(config.relays, (url) => new RelayClient(url, { transport, network: config.network }), undefined, config.network);
      output(flags, { relays: statuses }, () =>
        statuses.length === 0
          ? ['no relays: add one with `satpost relays add URL`']
          : statuses.map((r) =>
            r.reachable
              ? `${r.url}  reachable  ${r.relayId!.slice(0, 16)}…${r.name ? `  "${r.name}"` : ''}`
              : `${r.url}  UNREACHABLE  [${r.error!.code}] ${r.error!.message}`),
      );
    });

  withClientOptions(
    relays
      .command('add')
      .description('add a relay of yours: checks it answers, publishes your prekeys to your relays, prints your new address')
      .argument('<url>', 'the relay\'s URL (https outside regtest)'),
  )
    .addHelpText('after', examples('satpost relays add https://relay.example.org'))
    .action(async (url: string, _opts: ClientFlags, cmd: Command) => {
      const flags = cmd.opts<ClientFlags>();
      await withClient(flags, async (client) => {
        progress(flags, `asking ${url} for its information document...`);
        const change = await client.addRelay(url);
        output(flags, { ...change, note: CONTACTS_NOTE }, () => changeLines(`added ${url}`, change));
      });
    });

  withClientOptions(
    relays
      .command('remove')
      .description('remove a relay of yours (never the last): publishes your prekeys to the others, prints your new address')
      .argument('<url>', 'the relay\'s URL as `satpost relays list` shows it'),
  )
    .addHelpText('after', examples('satpost relays remove https://old.example.org'))
    .action(async (url: string, _opts: ClientFlags, cmd: Command) => {
      const flags = cmd.opts<ClientFlags>();
      await withClient(flags, async (client) => {
        const change = await client.removeRelay(url);
        output(flags, { ...change, note: CONTACTS_NOTE }, () => changeLines(`removed ${url}`, change));
      });
    });
}

function changeLines(what: string, c: RelayChange): string[] {
  return [
    `${what}; your relays: ${c.relays.join(', ')}`,
    ...(c.published ? c.published.relays.map((r) => (r.error ? `  ${r.url}: prekeys not published: [${r.error.code}] ${r.error.message}` : `  ${r.url}: prekeys published (${r.oneTimePreKeys} one-time)`)) : []),
    ...(c.publishError ? [`warning: prekeys not published: [${c.publishError.code}] ${c.publishError.message}; run \`satpost publish\` later`] : []),
    'your new address (give it to your contacts):',
    c.address,
    `note: ${CONTACTS_NOTE}`,
  ];
}
