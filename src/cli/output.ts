/**
 * How a command's result is printed: one JSON object with --json, else text lines. A module of
 * its own (no commander) so the fast path (./fast.ts) prints the very bytes the command does.
 */
export function formatOutput(flags: { json?: boolean }, json: object, text: () => string[]): string {
  return flags.json ? JSON.stringify(json) + '\n' : text().join('\n') + '\n';
}
