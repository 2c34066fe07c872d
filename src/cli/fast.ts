/**
 * The commands bin/satpost.js answers without loading the CLI: `--version`, `--help` (of the
 * program and of every command) and `address`. Loading the CLI (dist/cli/main.js, its chunks
 * and commander) and building its command tree cost more than Node's own start; these answers
 * need none of it.
 * - Help and version: the texts are the full CLI's own output, recorded at build time by
 *   scripts/fast-answers.mjs (never written by hand), in fast-answers.json next to this file.
 *   Commander wraps help to the terminal's width, so each text is kept at the width of a pipe
 *   or file (80), at common terminal widths, and unwrapped (for a terminal at least as wide as
 *   its longest line); any other width goes to the full CLI.
 * - `address` (with --json and --data-dir only): ./fast-address.ts prints what
 *   ./public-address.ts reads from public.json, the same code the command runs.
 * Anything else, or anything unexpected (no public.json yet, a damaged one, another option,
 * SATPOST_TEST_SCRYPT_COUNT, SATPOST_FULL_CLI), returns false: the full CLI runs and gives the
 * answer or the typed error. test/cli/fast-path.test.ts checks both paths print the same bytes.
 */
import { readFileSync } from 'node:fs';

/** fast-answers.json: exact argument lists (joined by NUL) and the output of the full CLI for them. */
export interface FastAnswers {
  answers: Record<string, FastAnswer>;
  /** Each distinct text once (a help text is often the same at several widths). */
  texts: string[];
}

export interface FastAnswer {
  /** Index in `texts` of the output at a help width: 80 (commander's default: stdout not a terminal) and common terminal widths. */
  widths: Record<number, number>;
  /** Index in `texts` of the output on a terminal of `wideFrom` columns or more (nothing wrapped). */
  wide: number;
  wideFrom: number;
}

export const FAST_ANSWERS_FILE = 'fast-answers.json';
export const answerKey = (args: readonly string[]): string => args.join('\0');

interface Output {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

/** Prints the answer to `args` and returns true, or returns false for the full CLI to run. */
export async function answerFast(args: readonly string[], env: NodeJS.ProcessEnv, stdout: Output): Promise<boolean> {
  // SATPOST_FULL_CLI: always the full CLI (tests compare the two; also for debugging).
  // SATPOST_TEST_SCRYPT_COUNT: the full CLI reports on stderr at exit; this path would not.
  if (env.SATPOST_FULL_CLI || env.SATPOST_TEST_SCRYPT_COUNT) return false;
  if (args[0] === 'address') {
    const { fastAddressText } = await import('./fast-address.ts');
    const text = fastAddressText(args.slice(1), env);
    if (text !== undefined) stdout.write(text);
    return text !== undefined;
  }
  if (!args.some((a) => a === '--help' || a === '-h' || a === '--version' || a === '-V')) return false;
  let recorded: FastAnswers;
  try {
    recorded = JSON.parse(readFileSync(new URL(FAST_ANSWERS_FILE, import.meta.url), 'utf8')) as FastAnswers;
  } catch {
    return false; // not built yet or unreadable: the full CLI answers
  }
  const answer = recorded.answers[answerKey(args)];
  if (answer === undefined) return false;
  // As commander sizes help: the terminal's columns, else 80.
  const width = (stdout.isTTY ? stdout.columns : undefined) ?? 80;
  const index = width >= answer.wideFrom ? answer.wide : answer.widths[width];
  const text = index === undefined ? undefined : recorded.texts[index];
  if (text === undefined) return false;
  stdout.write(text);
  return true;
}
