// Records what the built CLI prints for `--version` and for `--help`/`-h` of the program and of
// every command, into dist/cli/fast-answers.json: the texts the fast path of bin/satpost.js
// (src/cli/fast.ts) prints without loading the CLI. Run by scripts/build.mjs, in a process of
// its own, after the bundle is built: the texts come from the real program, run through its
// own main() exactly as bin/satpost.js runs it, so they cannot drift from it.
// Commander wraps help to the terminal's width: each text is recorded at the width of a pipe
// (80), at common terminal widths, and unwrapped, with the narrowest terminal that shows it
// unwrapped (checked, not assumed). A terminal of another width gets the full CLI.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const out = join(import.meta.dirname, '..', 'dist', 'cli');
await import(join(out, 'polyfills.js'));
const cli = await import(join(out, 'main.js'));
const { FAST_ANSWERS_FILE, answerKey } = await import(join(out, 'fast.js'));

/** The output of `satpost ...args` with stdout a pipe (columns undefined) or a terminal of `columns`; undefined unless it exits 0 with nothing on stderr. */
async function render(args, columns) {
  const { stdout, stderr } = process;
  const saved = { outWrite: stdout.write, errWrite: stderr.write, isTTY: stdout.isTTY, columns: stdout.columns, exitCode: process.exitCode };
  let text = '';
  let errors = '';
  stdout.write = (s) => ((text += s), true);
  stderr.write = (s) => ((errors += s), true);
  stdout.isTTY = columns !== undefined;
  stdout.columns = columns;
  process.exitCode = undefined;
  try {
    await cli.main(['node', 'satpost', ...args]);
    return (process.exitCode ?? 0) === 0 && errors === '' ? text : undefined;
  } finally {
    stdout.write = saved.outWrite;
    stderr.write = saved.errWrite;
    stdout.isTTY = saved.isTTY;
    stdout.columns = saved.columns;
    process.exitCode = saved.exitCode;
  }
}

function* commandPaths(cmd, path = []) {
  yield path;
  for (const sub of cmd.commands) yield* commandPaths(sub, [...path, sub.name()]);
}

/** Terminal widths recorded besides 80 (a pipe's, and the classic terminal's) and the unwrapped text. */
const TERMINAL_WIDTHS = [100, 120, 132, 160];
const texts = [];
const indexOf = (text) => (texts.includes(text) ? texts.indexOf(text) : texts.push(text) - 1);
const answers = {};
const argLists = [['--version'], ['-V'], ...[...commandPaths(cli.buildProgram())].flatMap((p) => [[...p, '--help'], [...p, '-h']])];
for (const args of argLists) {
  const narrow = await render(args, undefined);
  const wide = await render(args, 1_000_000);
  if (narrow === undefined || wide === undefined) throw new Error(`satpost ${args.join(' ')} failed while recording the fast answers`);
  // Styled help would depend on the terminal's colours: such a text is left to the full CLI.
  if ((narrow + wide).includes('\u001b')) continue;
  const wideFrom = Math.max(...wide.split('\n').map((l) => l.length));
  if ((await render(args, 80)) !== narrow) throw new Error(`satpost ${args.join(' ')}: a terminal of 80 columns and a pipe differ`);
  const answer = { widths: { 80: indexOf(narrow) }, wide: indexOf(wide), wideFrom };
  for (const width of TERMINAL_WIDTHS.filter((w) => w < wideFrom)) answer.widths[width] = indexOf(await render(args, width));
  // Checked: the full CLI prints the unwrapped text from wideFrom columns on (else only the narrow one is kept).
  if ((await render(args, wideFrom)) !== wide) answer.wideFrom = Number.MAX_SAFE_INTEGER;
  answers[answerKey(args)] = answer;
}
writeFileSync(join(out, FAST_ANSWERS_FILE), JSON.stringify({ answers, texts }));
