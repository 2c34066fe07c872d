/**
 * Runs inputs through the targets and judges each outcome. A finding is: a refusal that is
 * not one of the target's typed errors (or has no string code), a typed error wrapping a
 * foreign one (a crash the codec hid), an accepted input that does not encode back to the
 * same bytes (a second encoding of one value), or a call slower than the hang limit.
 */
import { performance } from 'node:perf_hooks';
import { SatpostError } from '../src/core/errors.ts';
import { Rng, generate } from './mutate.ts';
import type { Target } from './targets.ts';

export type FindingKind = 'untyped-error' | 'hidden-crash' | 'non-canonical' | 'no-reencode' | 'slow' | 'hang' | 'process-died';

export interface Finding {
  target: string;
  index: number;
  kind: FindingKind;
  detail: string;
  /** The input, hex (cut at 4 KiB). */
  input: string;
}

export type Outcome = 'accepted' | 'refused' | 'not-applicable';

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, Math.min(b.byteLength, 4096)).toString('hex');
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.constructor.name}${(e as { code?: unknown }).code !== undefined ? `(${String((e as { code?: unknown }).code)})` : ''}: ${e.message}`;
  return `non-Error thrown: ${String(e)}`;
}

/** The input number `index` of `target` under `seed`. */
export function inputFor(target: Target, seed: number, index: number): Uint8Array {
  const rng = Rng.forInput(seed, target.name, index);
  return target.input ? target.input(rng) : generate(rng, target.seeds);
}

/** Decodes one input; returns how it went and the finding it makes, if any. */
export function judge(target: Target, input: Uint8Array, index: number, hangMs: number): { outcome: Outcome; finding?: Finding } {
  const finding = (kind: FindingKind, detail: string) => ({ target: target.name, index, kind, detail, input: hex(input) });
  if (target.notApplicable?.(input)) return { outcome: 'not-applicable' };
  const started = performance.now();
  let value: unknown;
  let refusal: unknown;
  let refused = false;
  try {
    value = target.decode(input);
  } catch (e) {
    refused = true;
    refusal = e;
  }
  const took = performance.now() - started;
  if (took > hangMs) {
    // Once more: a shared machine can stall any call; only a decoder slow twice is reported.
    const again = performance.now();
    try {
      target.decode(input);
    } catch {
      // judged above
    }
    const tookAgain = performance.now() - again;
    if (tookAgain > hangMs) return { outcome: refused ? 'refused' : 'accepted', finding: finding('slow', `decoding took ${took.toFixed(0)} ms, then ${tookAgain.toFixed(0)} ms (limit ${hangMs} ms)`) };
  }
  if (refused) {
    const typed = target.errors.some((cls) => refusal instanceof cls) && typeof (refusal as SatpostError).code === 'string' && (refusal as SatpostError).code !== '';
    if (!typed) return { outcome: 'refused', finding: finding('untyped-error', describe(refusal)) };
    const cause = (refusal as Error).cause;
    if (target.typedCauses && cause !== undefined && !(cause instanceof SatpostError)) {
      return { outcome: 'refused', finding: finding('hidden-crash', `${describe(refusal)} wraps ${describe(cause)}`) };
    }
    return { outcome: 'refused' };
  }
  if (target.reencode) {
    let back: Uint8Array;
    try {
      back = target.reencode(value, input);
    } catch (e) {
      return { outcome: 'accepted', finding: finding('no-reencode', `accepted, but the value does not encode: ${describe(e)}`) };
    }
    if (!sameBytes(back, input)) return { outcome: 'accepted', finding: finding('non-canonical', `accepted, but encodes back to ${hex(back)}`) };
  }
  return { outcome: 'accepted' };
}
