/**
 * `satpost relays`: the relays of the network and their terms, found by a relay-info lookup
 * through one relay (--relay URL, else the relays of your config.json in order, until one
 * has a network). Every listed relay signed its own entry; entries that fail the check are
 * not listed and are counted as `forged`. Needs no passphrase.
 */
import { Option, type Command } from 'commander';
import { ClientError } from '../client/errors.ts';
import { DataDir } from '../client/datadir.ts';
import { checkProxy, normalizeRelayUrls } from '../client/config.ts';
import { RelayClient } from '../client/relay-client.ts';
import { Transport } from '../net/transport.ts';
import { findRelays, type LookupResult, type RelayListing } from '../client/lookup.ts';
import { dataDirOf, examples, integerArg, output, type ClientFlags } from './context.ts';

interface RelaysFlags extends ClientFlags {
  relay?: string;
  hops?: number;
}

export function registerRelaysCommand(program: Command): void {
  program
    .command('relays')
    .description('list the relays of the network (id, URL, prices, channels), as each relay signed them')
    .option('--relay <url>', 'ask the network through this relay (default: your relays from config.json)')
    .option('--hops <n>', 'how far the lookup spreads (the relay lowers it to its limit; default 3)', integerArg('hops', 0, 255))
    .option('--data-dir <dir>', 'data directory whose config.json names your relays')
    .addOption(new Option('--proxy <url>', 'SOCKS5 proxy for the lookup, e.g. Tor: socks5h://127.0.0.1:9050 (default: the one in config.json)').env('SATPOST_PROXY'))
    .option('--json', 'print one JSON object on stdout (errors as {"error":{"code","message"}})')
    .addHelpText('after', examples('satpost relays', 'satpost relays --relay http://127.0.0.1:8090 --json'))
    .action(async (_opts: RelaysFlags, cmd: Command) => {
      const flags = cmd.opts<RelaysFlags>();
      const config = flags.relay !== undefined ? undefined : new DataDir(dataDirOf(flags)).readConfig();
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
}
