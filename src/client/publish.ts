/**
 * Publishing the user's prekey bundle ("the series of keys") at every relay of her config, so
 * that senders can start a Signal session while she is offline. The one-time keys not yet
 * published are split between the relays (key i goes to relay i mod n): a one-time key held by
 * two relays could be handed to two senders, and the second session would fail. The signed and
 * last-resort keys go to every relay. Each relay answers how many one-time keys it still holds;
 * when the total falls under the policy's threshold the pool is topped up and published again.
 * Each upload is a PrekeyPublish signed by the identity key for that relay (its node key from
 * its information document), fresh (now, random nonce): a relay takes nothing else.
 */
import type { PrivateKey } from '@signalapp/libsignal-client';
import type { PrekeyBundle } from '../core/objects/prekey-bundle.ts';
import { signPrekeyPublish } from '../identity/prekey-publish.ts';
import { ClientError } from './errors.ts';
import type { MailContext } from './mail-context.ts';
import type { RelayClient } from './relay-client.ts';

export interface PublishResult {
  /** Per relay: the pool it holds after the upload, or the error. */
  relays: { url: string; oneTimePreKeys?: number; kyberPreKeys?: number; error?: { code: string; message: string } }[];
  /** One-time keys created to top the pool up (published on the next publish). */
  replenished: { oneTime: number; kyber: number };
}

export async function publishPrekeys(ctx: MailContext, o: { signal?: AbortSignal } = {}): Promise<PublishResult> {
  if (ctx.relays.length === 0) throw new ClientError('NO_RELAYS', 'your config.json lists no relays: add one under "relays" to publish your prekeys');
  ctx.prekeys.rotateSignedPrekey(ctx.now());
  let bundle: PrekeyBundle = ctx.prekeys.buildBundle(ctx.now());
  let result = await upload(ctx, bundle, o.signal);
  const counts = result.filter((r) => r.oneTimePreKeys !== undefined);
  let replenished = { oneTime: 0, kyber: 0 };
  if (counts.length > 0) {
    const oneTime = counts.reduce((n, r) => n + r.oneTimePreKeys!, 0);
    const kyber = counts.reduce((n, r) => n + r.kyberPreKeys!, 0);
    replenished = ctx.prekeys.replenish(ctx.now(), { oneTime, kyber });
    if (replenished.oneTime > 0 || replenished.kyber > 0) {
      bundle = ctx.prekeys.buildBundle(ctx.now());
      result = await upload(ctx, bundle, o.signal);
    }
  }
  if (result.every((r) => r.error)) {
    const first = result[0]!.error!;
    const why = result.length === 1 ? first.message : `no relay took your prekeys: ${result.map((r) => `${r.url}: ${r.error!.message}`).join('; ')}`;
    throw new ClientError(first.code === 'RELAY_UNREACHABLE' ? 'RELAY_UNREACHABLE' : 'BAD_RELAY_ANSWER', why);
  }
  return { relays: result, replenished };
}

async function upload(ctx: MailContext, bundle: PrekeyBundle, signal?: AbortSignal): Promise<PublishResult['relays']> {
  return Promise.all(
    ctx.relays.map(async (url, i, all) => {
      const share = <T>(keys: T[]): T[] => keys.filter((_, j) => j % all.length === i);
      try {
        const mine = { ...bundle, oneTimePreKeys: share(bundle.oneTimePreKeys), kyberPreKeys: share(bundle.kyberPreKeys) };
        return { url, ...(await publishBundleTo(ctx.relay(url), mine, ctx.identity.keyPair.privateKey, { now: ctx.now, random: ctx.random, ...(signal ? { signal } : {}) })) };
      } catch (err) {
        if (signal?.aborted) throw err;
        const e = err as { code?: string; message?: string };
        return { url, error: { code: e.code ?? 'INTERNAL', message: e.message ?? String(err) } };
      }
    }),
  );
}

/** Signs `bundle` for the relay behind `relay` (its relayId, now, a random nonce) and posts it. */
export async function publishBundleTo(
  relay: RelayClient, bundle: PrekeyBundle, identityKey: PrivateKey, o: { now: () => number; random: (n: number) => Uint8Array; signal?: AbortSignal },
): Promise<{ oneTimePreKeys: number; kyberPreKeys: number }> {
  const relayId = await relay.relayId(o.signal);
  return relay.publishPrekeys(signPrekeyPublish(bundle, relayId, { timestamp: o.now(), nonce: o.random(16) }, identityKey), o.signal);
}
