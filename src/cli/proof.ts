/**
 * `satpost verify-proof FILE`: checks a fraud-proof file (docs/protocol.md "Fraud proofs") as
 * anyone can, with no data directory, passphrase, chain or relay: the relay's own signature,
 * the key, the blob. Exit 0 when it proves the relay cheated, 1 when it does not (or the file
 * is not a proof: FraudError MALFORMED_PROOF).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { FraudVerdict } from '../core/fraud-file.ts';
import { examples, output } from './context.ts';
import { CliError } from './errors.ts';

const REASONS: Record<FraudVerdict['reason'], string> = {
  BLOB_UNDECRYPTABLE: 'the blob it stored does not open under the key k it released',
  CONTENT_MISMATCH: 'the blob it stored opens under k to other content than it signed for',
};

export function registerProofCommand(program: Command): void {
  program
    .command('verify-proof')
    .description('check a fraud-proof file (from `satpost read`): does it prove that a relay was paid for a message it did not keep?')
    .argument('<file>', 'the proof file, e.g. fraud-proofs/<id>.json in the data directory')
    .option('--json', 'print one JSON object on stdout')
    .addHelpText('after', examples('satpost verify-proof ~/.local/share/satpost/fraud-proofs/3f2a9c1b....json'))
    .action(async (file: string, flags: { json?: boolean }) => {
      const { FraudError } = await import('../core/fraud.ts');
      const { parseFraudProofFile, verifyFraudProofFile } = await import('../core/fraud-file.ts');
      const { nodeAead } = await import('../crypto/aead-node.ts');
      const { nodeEd25519 } = await import('../crypto/ed25519-node.ts');
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (cause) {
        throw new CliError('BAD_ARGUMENTS', `cannot read ${file}: ${(cause as Error).message}`, { cause });
      }
      const parsed = parseFraudProofFile(text);
      let verdict: FraudVerdict;
      try {
        verdict = verifyFraudProofFile(parsed, { ed25519: nodeEd25519(), aead: nodeAead });
      } catch (err) {
        if (!(err instanceof FraudError)) throw err;
        output(flags, { valid: false, code: err.code, message: err.message }, () => [`invalid: this file proves nothing against the relay [${err.code}]: ${err.message}`]);
        process.exitCode = 1;
        return;
      }
      output(flags, { valid: true, ...verdict }, () => [
        `valid: relay ${verdict.relayId}${verdict.relayUrl ? ` (${verdict.relayUrl})` : ''} cheated on message ${verdict.messageId}`,
        `proves: ${REASONS[verdict.reason]} (${verdict.reason}), against the receipt the relay signed`,
        ...(verdict.amount !== undefined ? [`the relay's signed quote asked ${verdict.amount} sats (${verdict.mode}) for this message`] : []),
      ]);
    });
}
