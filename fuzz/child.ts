/**
 * The decoding process of `npm run fuzz` (fuzz/run.ts forks it): a separate process so that
 * a decoder that loops forever, exhausts memory or overflows the stack is seen as a finding
 * by the parent's watchdog rather than taking the run down.
 */
import '../src/polyfills.ts';
import { judge, inputFor, type Finding } from './engine.ts';
import { TARGETS } from './targets.ts';

export interface Plan {
  seed: number;
  hangMs: number;
  chunk: number;
  /** ms since the epoch; no chunk starts after it. */
  deadline: number;
  /** Inputs still to run per target: [from, to). */
  work: { name: string; from: number; to: number }[];
}

export type ChildMessage =
  | { t: 'ready' }
  | { t: 'chunk'; target: string; from: number; to: number }
  | { t: 'done'; target: string; to: number; accepted: number; refused: number; notApplicable: number; findings: Finding[] }
  | { t: 'end'; reason: 'count' | 'time' };

const send = (m: ChildMessage): Promise<void> => new Promise((resolve) => process.send!(m, () => resolve()));

async function run(plan: Plan): Promise<void> {
  const byName = new Map(TARGETS.map((t) => [t.name, t]));
  const work = plan.work.map((w) => ({ ...w, target: byName.get(w.name)! }));
  // Round robin in chunks, so a run cut by the time limit has still covered every target.
  while (work.some((w) => w.from < w.to)) {
    for (const w of work) {
      if (w.from >= w.to) continue;
      if (Date.now() > plan.deadline) return send({ t: 'end', reason: 'time' });
      const to = Math.min(w.to, w.from + plan.chunk);
      // Awaited so the parent knows the chunk before it starts: if it never ends, the parent names it.
      await send({ t: 'chunk', target: w.name, from: w.from, to });
      let accepted = 0;
      let refused = 0;
      let notApplicable = 0;
      const findings: Finding[] = [];
      for (let i = w.from; i < to; i++) {
        const { outcome, finding } = judge(w.target, inputFor(w.target, plan.seed, i), i, plan.hangMs);
        if (outcome === 'accepted') accepted++;
        else if (outcome === 'refused') refused++;
        else notApplicable++;
        if (finding) findings.push(finding);
      }
      w.from = to;
      await send({ t: 'done', target: w.name, to, accepted, refused, notApplicable, findings });
    }
  }
  return send({ t: 'end', reason: 'count' });
}

process.once('message', (plan: Plan) => {
  run(plan).then(
    () => process.disconnect(),
    (err: unknown) => {
      console.error(err);
      process.exit(2);
    },
  );
});
// A message sent before the listener above exists is lost (loading the targets takes seconds
// on a busy machine), so the parent sends the plan only when asked.
void send({ t: 'ready' });
