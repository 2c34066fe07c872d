/**
 * The relay's whole HTTP app: buildHttp's routes, then the channel, network and prekey
 * routes. The daemon serves it; `relayOpenApiText` builds it on stand-ins (no database, no
 * chain, nothing listening) to write docs/openapi.json from the very same routes.
 */
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { registerChannelRoutes, type RelayChannelService } from './channels.ts';
import { DEFAULTS, finish } from './config.ts';
import { buildHttp, OPENAPI_PATH, type HttpDeps } from './http.ts';
import type { RelayMetrics } from './metrics.ts';
import { registerNetworkRoutes, type RelayNetwork } from './network.ts';
import { registerPrekeyRoutes, type RelayPrekeys } from './prekeys.ts';
import { RateLimiter } from './rate-limit.ts';
import type { RelayService } from './service.ts';
import type { RelayStore } from './store.ts';

export interface RelayAppDeps extends HttpDeps {
  channels: RelayChannelService | undefined;
  store: RelayStore;
  network: RelayNetwork;
  prekeys: RelayPrekeys;
}

export async function buildRelayApp(deps: RelayAppDeps): Promise<FastifyInstance> {
  const app = await buildHttp(deps);
  registerChannelRoutes(app, deps.channels, deps.store);
  registerNetworkRoutes(app, deps.network);
  registerPrekeyRoutes(app, deps.prekeys);
  return app;
}

/**
 * Every route of the relay on stand-ins that no request may reach: for reading the routes
 * (documents, route listings), never for serving. Ready (no route can be added); close it.
 */
export async function routeOnlyApp(): Promise<FastifyInstance> {
  const none = <T>(): T => ({}) as T;
  const app = await buildRelayApp({
    config: finish({ ...DEFAULTS, port: 0, rateLimitBurst: 0 }),
    service: none<RelayService>(), metrics: none<RelayMetrics>(), limiter: new RateLimiter(0, 0), log: pino({ level: 'silent' }),
    channels: undefined, store: none<RelayStore>(), network: none<RelayNetwork>(), prekeys: none<RelayPrekeys>(),
  });
  await app.ready();
  return app;
}

/** The text of docs/openapi.json: the document the relay serves at /v1/openapi.json, indented, with a final newline. */
export async function relayOpenApiText(): Promise<string> {
  const app = await routeOnlyApp();
  try {
    const res = await app.inject({ method: 'GET', url: OPENAPI_PATH });
    if (res.statusCode !== 200) throw new Error(`${OPENAPI_PATH} answered ${res.statusCode}: ${res.body}`);
    return `${JSON.stringify(JSON.parse(res.body), null, 2)}\n`;
  } finally {
    await app.close();
  }
}
