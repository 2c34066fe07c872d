// LookupAnswer decoding refuses with its own typed error (found by `npm run fuzz`).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { EncodingError } from '../../src/core/codec.ts';
import { nobleEd25519 as ed } from '../../src/core/ed25519.ts';
import { LookupAnswerCodec, UnsignedLookupAnswerCodec, signLookupAnswer } from '../../src/core/wire/lookup-answer.ts';
import { det, mailbox, relaySecret } from '../core/samples.ts';

it('a relay-info answer aimed at a mailbox (non-zero target) is refused by a BAD_VALUE EncodingError of its own, not a wrapped crash', () => {
  const relayId = ed.publicKey(relaySecret);
  const answer = signLookupAnswer(
    {
      kind: 'relay-info', lookupId: det('lookup', 16), target: new Uint8Array(32), relayId, url: 'http://127.0.0.1:8080/',
      relay: {
        name: 'r', network: 'regtest', acceptedModes: ['sender-pays'], price: { baseSats: 1, perBlockSats: 1, perDaySats: 1 }, maxMessageBytes: 1000,
        maxRetentionSecs: 60, confirmations: 1, lockBlocks: 144, claimMarginBlocks: 12, multiaddrs: [],
      },
    },
    (m) => ed.sign(relaySecret, m),
  );
  // The target sits after tag, version, kind and the 16-byte lookup id.
  const forged = answer.slice();
  forged.set(mailbox, 2 + 1 + 16);
  const typedRefusal = (e: unknown) => EncodingError.is(e, 'BAD_VALUE') && e.cause === undefined;
  assert.throws(() => LookupAnswerCodec.decode(forged), typedRefusal);
  assert.throws(() => UnsignedLookupAnswerCodec.decode(forged.subarray(0, forged.length - 64)), typedRefusal);
  assert.throws(() => LookupAnswerCodec.encode({ ...LookupAnswerCodec.decode(answer), target: mailbox }), typedRefusal);
});
