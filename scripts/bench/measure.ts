// Measurement helpers for scripts/bench.ts and scripts/bench/service.ts: wall clocks, child
// processes with peak-RSS sampling, medians, a clean environment for child processes.
import { readFileSync } from 'node:fs';
import { appendFile, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { bundle } from '../bundle.ts';

export const KIB = 1024;
export const MB = 1_000_000;
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Rotates a list by `by` places: rep 0 runs A B C, rep 1 B C A, rep 2 C A B (no fixed first slot). */
export function rotate<T>(items: readonly T[], by: number): T[] {
  const n = by % items.length;
  return [...items.slice(n), ...items.slice(0, n)];
}

/** process.env without anything that could point a PostgreSQL client or pgdrill somewhere else. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (key.startsWith('PG') || key.startsWith('S3_') || key === 'DATABASE_URL' || key.startsWith('NODE_')) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

export async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await run();
  return { ms: performance.now() - started, value };
}

/** A memory figure of a live process from /proc/<pid>/status, KiB (VmHWM: peak RSS so far; VmRSS: now), or 0 once it is gone. */
export function procStatusKiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

export interface MeasuredRun {
  wallMs: number;
  /** Peak RSS of the Node child itself in KiB: max of its own VmHWM read at exit and VmHWM sampled every 50 ms. */
  peakRssKiB: number;
  /** The two sources separately, for the cross-check. */
  hookRssKiB: number;
  polledRssKiB: number;
  /** CPU time (user + system) of the Node child itself, ms; NaN when the exit hook did not report. */
  cpuMs: number;
  stdout: string;
  stderr: string;
  exitCode: number | undefined;
}

/** The CLI of the source checkout: Node strips its TypeScript at every start. */
export const SOURCE_CLI = path.join(REPO_ROOT, 'bin', 'pgdrill.js');
/** The CLI of the built package (`pnpm build`): what an installed pgdrill runs. */
export const PACKAGE_CLI = path.join(REPO_ROOT, 'dist', 'bin', 'pgdrill.js');

/** `pnpm build` (scripts/build.ts) into dist/, for the package form of a benchmark. */
export async function buildPackage(): Promise<void> {
  await execa(process.execPath, [path.join(REPO_ROOT, 'scripts', 'build.ts')], { cwd: REPO_ROOT, env: cleanEnv(), extendEnv: false });
}

/**
 * A bench script (a floor: Node + libraries; the restore candidate's library) in the form of the
 * CLI it is set beside: for the package, bundled as `pnpm build` bundles the CLI, into
 * .tmp/bench-bundles/<name>/ (pgdrill modules in it find the package.json three levels up); for
 * the source checkout, as it is.
 */
export async function scriptInForm(script: string, form: 'package' | 'source'): Promise<string> {
  if (form === 'source') return script;
  const name = path.basename(script, '.js');
  const dir = path.join(REPO_ROOT, '.tmp', 'bench-bundles', name);
  await rm(dir, { recursive: true, force: true });
  await bundle({ [name]: script }, dir);
  return path.join(dir, `${name}.js`);
}

/** Preloaded (`--import`) into a measured Node child: writes its own peak RSS and CPU time at exit. */
export const RSS_HOOK = path.join(path.dirname(fileURLToPath(import.meta.url)), 'rss-hook.js');

/** Node options from a script's `#!/usr/bin/env -S node --flag …` line (what running it as a program adds). */
export function shebangNodeArgs(scriptText: string): string[] {
  const first = scriptText.split('\n', 1)[0] ?? '';
  const match = /^#!.*\bnode\b(.*)$/.exec(first);
  return match ? (match[1] ?? '').trim().split(/\s+/).filter((arg) => arg.startsWith('-')) : [];
}

/**
 * Runs `node [nodeArgs] script args` as a child (argument array, no shell), timing it from spawn
 * to exit and sampling its peak RSS. `rssFile` is a scratch path for the exit hook's report.
 */
export async function runNodeMeasured(options: {
  script: string;
  args: readonly string[];
  /** Node options placed before the script (e.g. the CLI's own shebang flags). */
  nodeArgs?: readonly string[];
  env: Record<string, string>;
  cwd: string;
  rssFile: string;
  sampleMs?: number;
}): Promise<MeasuredRun> {
  await rm(options.rssFile, { force: true });
  const nodeArgs = [...(options.nodeArgs ?? []), '--disable-warning=ExperimentalWarning', '--import', RSS_HOOK, options.script, ...options.args];
  const started = performance.now();
  const child = execa(process.execPath, nodeArgs, {
    cwd: options.cwd,
    env: { ...options.env, PGDRILL_BENCH_RSS_FILE: options.rssFile },
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    maxBuffer: 64 * 1024 * 1024,
  });
  const pid = child.pid;
  let polled = 0;
  const sample = () => {
    if (pid !== undefined) polled = Math.max(polled, procStatusKiB(pid, 'VmHWM'));
  };
  const timer = setInterval(sample, options.sampleMs ?? 50);
  sample();
  const result = await child;
  const wallMs = performance.now() - started;
  clearInterval(timer);
  let hook = 0;
  let cpuMs = Number.NaN;
  try {
    const report = JSON.parse(await readFile(options.rssFile, 'utf8')) as { maxRssKiB: number; cpuMs: number };
    hook = report.maxRssKiB;
    cpuMs = report.cpuMs;
  } catch {
    // no report (the child died hard): the polled figure stands alone
  }
  await rm(options.rssFile, { force: true });
  return {
    wallMs,
    peakRssKiB: Math.max(hook, polled),
    hookRssKiB: hook,
    polledRssKiB: polled,
    cpuMs,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
    exitCode: result.exitCode,
  };
}

export const fmtSeconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
export const fmtMB = (bytes: number): string => `${(bytes / MB).toFixed(bytes < 10 * MB ? 2 : 1)} MB`;
export const fmtRatio = (ratio: number): string => (Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : 'n/a');


/** `git` commit of the measured code, marked when the given paths (src, bin, …) differ from it. */
export async function codeVersion(paths: readonly string[]): Promise<string> {
  const head = await execa('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, reject: false });
  if (head.exitCode !== 0) return 'unknown (not a git checkout)';
  const dirty = await execa('git', ['status', '--porcelain', '--', ...paths, 'package.json'], { cwd: REPO_ROOT, reject: false });
  return `commit ${String(head.stdout).trim()}${String(dirty.stdout).trim() ? ` + uncommitted changes in ${paths.join('/')}` : ''}`;
}

/** One run's section of docs/benchmarks.md: heading, machine and load, the table, details and the missed targets. */
export async function appendBenchSection(o: {
  docs: string;
  command: string;
  /** What else the figures depend on, e.g. `PostgreSQL 15.8` or `Redis 7.0.15; PostgreSQL 15 (embedded)`. */
  software: string;
  loadAvgStart: readonly number[];
  loadAvgEnd: readonly number[];
  code: string;
  nodeArgs: readonly string[];
  report: { table: string; details: string; missed: readonly string[] };
}): Promise<void> {
  const cpus = os.cpus();
  const load = (l: readonly number[]) => l.map((x) => x.toFixed(2)).join(' / ');
  const section = [
    '',
    `## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — \`${o.command}\``,
    '',
    `Machine: ${cpus.length} × ${cpus[0]?.model?.trim() ?? 'CPU'}, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}; ` +
      `Node ${process.version}; ${o.software}. Load average (1/5/15 min) at start ${load(o.loadAvgStart)}, at end ${load(o.loadAvgEnd)} (shared machine). ` +
      `Code: ${o.code}; CLI Node options: ${o.nodeArgs.map((a) => `\`${a}\``).join(' ') || 'none'}.`,
    '',
    o.report.table,
    '',
    o.report.details,
    '',
    o.report.missed.length > 0 ? o.report.missed.map((m) => `- ${m}`).join('\n') : 'All targets met.',
    '',
  ].join('\n');
  await appendFile(o.docs, section);
}
