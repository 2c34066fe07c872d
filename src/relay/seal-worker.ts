/**
 * Worker thread entry of WorkerSealer (sealer.ts): seals, hashes and signs batches of
 * deposits so the main thread's event loop keeps reading sockets and committing. Gets the
 * node key seed in workerData; answers each { id, jobs } with { id, results } (a job
 * that throws fails alone, as a message) or { id, error } when the batch itself is unreadable.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { nodeAead } from '../crypto/aead-node.ts';
import { nodeEd25519 } from '../crypto/ed25519-node.ts';
import { SealFailure, decodeJobs, encodeResults, sealDeposit, type SealJob, type SealKeys } from './seal.ts';

const ed = nodeEd25519();
const nodeSecret = new Uint8Array((workerData as { nodeSecret: Uint8Array }).nodeSecret);
const keys: SealKeys = { nodeSecret, relayId: ed.publicKey(nodeSecret), ed, aead: nodeAead };

const attempt = (j: SealJob) => {
  try {
    return sealDeposit(j, keys);
  } catch (err) {
    return new SealFailure((err as Error).message);
  }
};

parentPort!.on('message', (m: { id: number; jobs: ArrayBuffer }) => {
  try {
    const results = encodeResults(decodeJobs(m.jobs).map(attempt));
    parentPort!.postMessage({ id: m.id, results }, [results]);
  } catch (err) {
    parentPort!.postMessage({ id: m.id, error: (err as Error).message });
  }
});
