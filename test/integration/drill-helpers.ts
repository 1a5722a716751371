import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { DrillResult } from '../../src/drill/index.ts';
import type { TestDrillOptions } from '../helpers/run-drill.ts';
import { parseEvidence, type DrillEvidence } from '../../src/evidence/index.ts';
import { REPO_ROOT, tempDir } from '../helpers/pgdrill.ts';

export interface DrillRun {
  exitCode: number | undefined;
  result: DrillResult;
  evidence: DrillEvidence | undefined;
  output: string;
  check(id: string): DrillEvidence['checks'][number] | undefined;
}

/** Runs a drill in a child process (as `pgdrill drill` would) with the given environment. */
export async function drill(env: Record<string, string | undefined>, options: TestDrillOptions = {}): Promise<DrillRun> {
  const reports = tempDir('reports');
  const child = await execa('node', [path.join(REPO_ROOT, 'test/helpers/run-drill.ts'), JSON.stringify(options)], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: process.env.CI, PGDRILL_REPORTS_DIR: reports, ...env },
    extendEnv: false,
    reject: false,
    timeout: 300_000,
    all: true,
  });
  const output = String(child.all);
  const last = String(child.stdout).trim().split('\n').at(-1) ?? '';
  let result: DrillResult;
  try {
    result = JSON.parse(last) as DrillResult;
  } catch {
    throw new Error(`drill printed no result (exit ${child.exitCode}):\n${output.slice(-4000)}`);
  }
  const evidence = result.jsonPath ? parseEvidence(await readFile(result.jsonPath)) : undefined;
  return { exitCode: child.exitCode, result, evidence, output, check: (id) => evidence?.checks.find((c) => c.id === id) };
}
