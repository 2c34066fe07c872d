import { Devnet } from '../../src/chain/devnet/devnet.ts';
import { DevnetBackend } from '../../src/chain/devnet/backend.ts';
import { runBackendCompliance } from './backend-compliance.ts';

runBackendCompliance('DevnetBackend (in process)', async () => {
  const devnet = Devnet.open({ path: ':memory:' });
  return {
    backend: new DevnetBackend(devnet),
    mine: async (n) => devnet.mine(n),
    mineOn: async (parent, n) => devnet.mineOn(parent, n),
    invalidate: async (hash) => devnet.invalidateBlock(hash),
    faucet: async (script, sats) => devnet.faucet(script, sats),
    close: async () => devnet.close(),
  };
});
