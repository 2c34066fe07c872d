/**
 * Benchmark harness. Each bench/*.bench.ts exports `bench: Benchmark`. The runner
 * (bench/run.ts) runs them in turn, prints one table per benchmark, and writes
 * bench/results/<name>.json with the machine, the date and every figure.
 */
import { cpus, totalmem, platform, release, arch } from 'node:os';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface Figure {
  metric: string;
  value: number;
  unit: string;
  /** Optional goal from the project targets, e.g. ">= 20000". */
  goal?: string;
  note?: string;
}

export interface Benchmark {
  name: string;
  description: string;
  run(report: (f: Figure) => void, log: (msg: string) => void): Promise<void>;
}

export interface BenchFile {
  name: string;
  description: string;
  date: string;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
  figures: Figure[];
  durationMs: number;
}

export function machine(): BenchFile['machine'] {
  const c = cpus();
  return {
    cpus: c.length,
    cpuModel: c[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${platform()} ${release()} ${arch()}`,
  };
}

export function writeResult(dir: string, file: BenchFile): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${file.name}.json`);
  writeFileSync(path, JSON.stringify(file, null, 2) + '\n');
  return path;
}

export function formatTable(file: BenchFile): string {
  const rows = file.figures.map((f) => [f.metric, fmt(f.value), f.unit, f.goal ?? '', f.note ?? '']);
  const head = ['metric', 'value', 'unit', 'goal', 'note'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [`## ${file.name}: ${file.description}`, line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function fmt(v: number): string {
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  if (Math.abs(v) >= 100) return v.toLocaleString('en-US', { maximumFractionDigits: 0 });
  return v.toLocaleString('en-US', { maximumSignificantDigits: 4 });
}

/** Median of a non-empty list. */
export function median(xs: number[]): number {
  return percentile(xs, 50);
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) throw new Error('percentile of an empty list');
  const s = [...xs].sort((a, b) => a - b);
  const idx = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[idx]!;
}

/** Runs `fn` repeatedly for about `ms` milliseconds; returns operations per second. */
export async function opsPerSecond(fn: () => unknown | Promise<unknown>, ms = 2000, batch = 1): Promise<number> {
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < ms) {
    await fn();
    n += batch;
  }
  return (n * 1000) / (performance.now() - start);
}
