/**
 * Development endpoints under /dev/: mining, reorganising and the faucet. No public
 * Esplora server has them; bodies are JSON checked by schema, unknown fields refused.
 */
import type { FastifyInstance } from 'fastify';
import { NETWORKS, type BtcNetwork } from '../../core/network.ts';
import type { Devnet } from './devnet.ts';
import { HASH_SCHEMA as HASH, addressScript } from './server-http.ts';

const MAX_MINE = 10_000;
const SATS = { type: 'integer', minimum: 1, maximum: 21e14 } as const;

export function registerDevRoutes(app: FastifyInstance, devnet: Devnet): void {
  const network: BtcNetwork = NETWORKS[devnet.network];
  const optionalScript = (address: string | undefined) => (address === undefined ? undefined : addressScript(address, network));

  app.post<{ Body: { blocks: number; address?: string } }>(
    '/dev/mine',
    {
      schema: {
        body: {
          type: 'object',
          properties: { blocks: { type: 'integer', minimum: 1, maximum: MAX_MINE }, address: { type: 'string' } },
          required: ['blocks'],
          additionalProperties: false,
        },
      },
    },
    async (req) => ({ hashes: devnet.mine(req.body.blocks, optionalScript(req.body.address)) }),
  );
  app.post<{ Body: { parent: string; blocks: number; address?: string } }>(
    '/dev/mine-on',
    {
      schema: {
        body: {
          type: 'object',
          properties: { parent: HASH, blocks: { type: 'integer', minimum: 1, maximum: MAX_MINE }, address: { type: 'string' } },
          required: ['parent', 'blocks'],
          additionalProperties: false,
        },
      },
    },
    async (req) => ({ hashes: devnet.mineOn(req.body.parent.toLowerCase(), req.body.blocks, optionalScript(req.body.address)) }),
  );
  app.post<{ Body: { address: string; sats: number } }>(
    '/dev/faucet',
    {
      schema: {
        body: {
          type: 'object',
          properties: { address: { type: 'string' }, sats: SATS },
          required: ['address', 'sats'],
          additionalProperties: false,
        },
      },
    },
    async (req) => ({ txid: devnet.faucet(addressScript(req.body.address, network), req.body.sats) }),
  );
  app.post<{ Body: { hash: string } }>(
    '/dev/invalidate',
    {
      schema: {
        body: { type: 'object', properties: { hash: HASH }, required: ['hash'], additionalProperties: false },
      },
    },
    async (req) => {
      devnet.invalidateBlock(req.body.hash.toLowerCase());
      return { tip: devnet.tip() };
    },
  );
}
