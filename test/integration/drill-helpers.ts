import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { DrillResult } from '../../src/drill/index.ts';
import type { TestDrillOptions } from '../helpers/run-drill.ts';
import { parseEvidence, type DrillEvidence } from '../../src/evidence/index.ts';
import { REPO_ROOT, runCli, tempDir } from '../helpers/pgdrill.ts';

export interface DrillRun {
  /** The process's exit code: the real `pgdrill drill`'s, or run-drill.ts's (same rule, drillExitCode). */
  exitCode: number | undefined;
  result: DrillResult;
  evidence: DrillEvidence | undefined;
  output: string;
  check(id: string): DrillEvidence['checks'][number] | undefined;
}

/** `pgdrill drill` flags for options the CLI has; undefined when only the programmatic runner can take them. */
function cliArgs(options: TestDrillOptions): string[] | undefined {
  const { sandbox, selector, full, ...rest } = options;
  if (Object.keys(rest).length > 0) return undefined;
  const args = ['drill'];
  if (sandbox) args.push('--sandbox', sandbox);
  if (full) args.push('--full');
  if (selector?.key) args.push('--key', selector.key);
  if (selector?.date) args.push('--date', selector.date);
  if (selector?.monthly) args.push('--monthly', selector.monthly);
  return args;
}

/** The evidence the drill filed in a fresh reports folder (one drill, one JSON record). */
async function filedEvidence(reports: string): Promise<string | undefined> {
  for (const month of await readdir(reports).catch(() => [] as string[])) {
    const json = (await readdir(path.join(reports, month))).find((f) => f.endsWith('.json'));
    if (json) return path.join(reports, month, json);
  }
  return undefined;
}

/**
 * What `pgdrill drill` printed, as the DrillResult it printed it from. The failed checks' titles
 * come from the filed evidence (a title may hold "; "), and the printed line must list them.
 */
function parseCliResult(stdout: string, evidence: DrillEvidence | undefined, jsonPath: string | undefined): DrillResult {
  const verdict = /^Drill (\S+): (PASS|FAIL)$/m.exec(stdout);
  if (!verdict) throw new Error(`pgdrill drill printed no verdict:\n${stdout.slice(-4000)}`);
  const printed = /^Failed checks: (.*)$/m.exec(stdout)?.[1];
  const failedChecks = evidence ? evidence.checks.filter((c) => c.status === 'fail').map((c) => c.title) : (printed?.split('; ') ?? []);
  if ((printed ?? '') !== failedChecks.join('; ')) throw new Error(`pgdrill drill printed "Failed checks: ${printed}", its evidence fails ${JSON.stringify(failedChecks)}`);
  const error = /^Error: (.*)$/m.exec(stdout)?.[1];
  const pdfPath = /^Report: (.*)$/m.exec(stdout)?.[1];
  return {
    drillId: verdict[1]!,
    verdict: verdict[2] as DrillResult['verdict'],
    failedChecks,
    ...(error ? { error } : {}),
    ...(pdfPath ? { pdfPath } : {}),
    ...(jsonPath ? { jsonPath } : {}),
  };
}

/**
 * Runs a drill as a child process with the given environment: the real `pgdrill drill` when the
 * options are ones the CLI has (sandbox, backup choice), else test/helpers/run-drill.ts.
 */
export async function drill(env: Record<string, string | undefined>, options: TestDrillOptions = {}): Promise<DrillRun> {
  const reports = tempDir('reports');
  const args = cliArgs(options);
  const childEnv = { PGDRILL_REPORTS_DIR: reports, ...env };
  const child = args
    ? await runCli(args, childEnv, { cwd: REPO_ROOT, timeoutMs: 300_000, all: true })
    : await execa('node', [path.join(REPO_ROOT, 'test/helpers/run-drill.ts'), JSON.stringify(options)], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: process.env.CI, ...childEnv },
        extendEnv: false,
        reject: false,
        timeout: 300_000,
        all: true,
      });
  const output = String(child.all);
  let result: DrillResult;
  if (args) {
    const jsonPath = await filedEvidence(reports);
    result = parseCliResult(String(child.stdout), jsonPath ? parseEvidence(await readFile(jsonPath)) : undefined, jsonPath);
  } else {
    const last = String(child.stdout).trim().split('\n').at(-1) ?? '';
    try {
      result = JSON.parse(last) as DrillResult;
    } catch {
      throw new Error(`drill printed no result (exit ${child.exitCode}):\n${output.slice(-4000)}`);
    }
  }
  const evidence = result.jsonPath ? parseEvidence(await readFile(result.jsonPath)) : undefined;
  return { exitCode: child.exitCode, result, evidence, output, check: (id) => evidence?.checks.find((c) => c.id === id) };
}
