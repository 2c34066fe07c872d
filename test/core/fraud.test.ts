import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256 } from '@noble/hashes/sha2.js';
import { sealBlob } from '../../src/core/blob.ts';
import { nobleEd25519 } from '../../src/core/ed25519.ts';
import { nobleAead } from '../../src/core/aead.ts';
import { nodeAead } from '../../src/crypto/aead-node.ts';
import { nodeEd25519 } from '../../src/crypto/ed25519-node.ts';
import { FraudError, judgeFraud, makeFraudProof, verifyFraudProof, type FraudErrorCode } from '../../src/core/fraud.ts';
import { encodeFraudProofFile, parseFraudProofFile, verifyFraudProofFile } from '../../src/core/fraud-file.ts';
import { FraudProofCodec, signQuote, signReceipt, type Receipt } from '../../src/core/objects/index.ts';
import * as S from './samples.ts';

const pub = nobleEd25519.publicKey(S.relaySecret);
const c = S.det('the real body', 500);
const refused = (code: FraudErrorCode) => (e: unknown) => FraudError.is(e, code);

/** A receipt as the relay would sign it for (c, blob). */
function receiptFor(blob: Uint8Array, hc = sha256(c), k = S.k): Receipt {
  return signReceipt({ relayId: pub, tag: S.mailbox, hblob: sha256(blob), hk: sha256(k), hc, expiresAt: 1_750_604_800_000 }, S.relaySecret, nobleEd25519);
}

test('an honest relay cannot be accused (NOT_FRAUD)', () => {
  const blob = sealBlob(S.k, c);
  assert.throws(() => makeFraudProof(receiptFor(blob), blob, S.k), refused('NOT_FRAUD'));
});

test('a blob that does not open under k is provable fraud, checked by anyone', () => {
  const garbage = S.det('garbage blob', 516);
  const proof = makeFraudProof(receiptFor(garbage), garbage, S.k);
  const wire = FraudProofCodec.encode(proof);
  const decoded = FraudProofCodec.decode(wire);
  assert.equal(verifyFraudProof(decoded), 'BLOB_UNDECRYPTABLE');
  assert.equal(verifyFraudProof(decoded, nodeEd25519(), nodeAead), 'BLOB_UNDECRYPTABLE');
  // A blob sealed under another key is just as undecryptable under the committed k.
  const wrongKeyBlob = sealBlob(S.det('another key', 32), c);
  assert.equal(judgeFraud(receiptFor(wrongKeyBlob), S.k, wrongKeyBlob), 'BLOB_UNDECRYPTABLE');
});

test('a blob that opens to other content than hc is provable fraud', () => {
  const swapped = sealBlob(S.k, S.det('a different body', 500));
  const proof = makeFraudProof(receiptFor(swapped), swapped, S.k, { ed25519: nodeEd25519(), aead: nodeAead });
  assert.equal(verifyFraudProof(proof, nobleEd25519, nobleAead), 'CONTENT_MISMATCH');
});

test('proofs that do not bind the relay are refused with the reason', () => {
  const garbage = S.det('garbage blob', 516);
  const receipt = receiptFor(garbage);
  assert.throws(() => verifyFraudProof({ receipt: { ...receipt, hc: S.det('x', 32) }, k: S.k, blob: garbage }), refused('BAD_RECEIPT_SIGNATURE'));
  assert.throws(() => verifyFraudProof({ receipt: { ...receipt, relayId: nobleEd25519.publicKey(S.det('r2', 32)) }, k: S.k, blob: garbage }), refused('BAD_RECEIPT_SIGNATURE'));
  assert.throws(() => verifyFraudProof({ receipt, k: S.det('not k', 32), blob: garbage }), refused('KEY_MISMATCH'));
  assert.throws(() => verifyFraudProof({ receipt, k: S.k, blob: garbage.subarray(1) }), refused('BLOB_MISMATCH'));
  // An accuser holding the honest blob cannot turn it into a proof by altering it.
  const honest = sealBlob(S.k, c);
  const tampered = honest.slice();
  tampered[0]! ^= 1;
  assert.throws(() => makeFraudProof(receiptFor(honest), tampered, S.k), refused('BLOB_MISMATCH'));
});

test('a proof file round-trips and proves the relay, the message and the quoted amount', () => {
  const garbage = S.det('garbage blob', 516);
  const proof = makeFraudProof(receiptFor(garbage), garbage, S.k);
  const quote = signQuote(S.sampleUnsignedQuote(pub), S.relaySecret, nobleEd25519);
  const verdict = verifyFraudProofFile(parseFraudProofFile(encodeFraudProofFile({ proof, quote })), { ed25519: nodeEd25519(), aead: nodeAead });
  assert.deepEqual(verdict, {
    reason: 'BLOB_UNDECRYPTABLE', relayId: Buffer.from(pub).toString('hex'), messageId: Buffer.from(proof.receipt.messageId).toString('hex'),
    amount: 1500, mode: 'sender-pays', relayUrl: 'http://127.0.0.1:8080',
  });
  assert.deepEqual(Object.keys(verifyFraudProofFile(parseFraudProofFile(encodeFraudProofFile({ proof })))).sort(), ['messageId', 'reason', 'relayId']);
  // A quote that is not the accused relay's, signed, for this k: the file is refused.
  const other = signQuote({ ...S.sampleUnsignedQuote(pub), hk: S.det('other hk', 32) }, S.relaySecret, nobleEd25519);
  assert.throws(() => verifyFraudProofFile({ proof, quote: other }), refused('QUOTE_MISMATCH'));
  assert.throws(() => verifyFraudProofFile({ proof, quote: { ...quote, amount: 1 } }), refused('QUOTE_MISMATCH'));
});

test('a file that is not a proof is MALFORMED_PROOF', () => {
  const garbage = S.det('garbage blob', 516);
  const good = JSON.parse(encodeFraudProofFile({ proof: makeFraudProof(receiptFor(garbage), garbage, S.k) })) as Record<string, unknown>;
  const bad = ['not json', '[]', JSON.stringify({ ...good, type: 'x' }), JSON.stringify({ ...good, version: 2 }), JSON.stringify({ ...good, proof: 'ABCD' }),
    JSON.stringify({ ...good, proof: `${good.proof as string}00` }), JSON.stringify({ ...good, quote: '02' })];
  for (const text of bad) assert.throws(() => parseFraudProofFile(text), refused('MALFORMED_PROOF'), text.slice(0, 40));
});
