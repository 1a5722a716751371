import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SerializedError } from 'vitest';
import type { Reporter, TestCase, TestModule, Vitest } from 'vitest/node';
import { buildNotification, createConsoleNotifier, type Notifier } from '../notify/index.ts';
import { appendToLedger, DrillEvidence, serializeEvidence, type CheckResult } from '../evidence/index.ts';
import { ExitCode, exitCodeOf, type ExitCodeValue } from '../errors/index.ts';
import { makeDirectory } from '../storage/index.ts';
import { openStorage } from '../storage/index.ts';
import { buildEvidence } from './build-evidence.ts';
import { loadDrillConfig, type DrillOptions } from './prepare.ts';
import { checkMetaOf, slug } from './types.ts';

export interface DrillResult {
  verdict: 'PASS' | 'FAIL';
  drillId: string;
  pdfPath?: string;
  jsonPath?: string;
  failedChecks: string[];
  /** Each failed check's one line, for the console (the report has them too). */
  failures?: Array<{ title: string; summary: string }>;
  /** Why no report could be made (e.g. no backup at all), or why filing it failed. */
  error?: string;
  /** The typed error that stopped rendering or publishing, for the exit code. */
  reportError?: unknown;
}

/** The process exit code of a drill: 1 when it failed, the filing error's own code when only the report failed, else 0. */
export function drillExitCode(result: DrillResult): ExitCodeValue {
  if (result.verdict !== 'PASS') return ExitCode.failure;
  return result.reportError ? exitCodeOf(result.reportError) : ExitCode.ok;
}

/** One finished drill test as plain data: what checkRecordOf judges (vitest's TestCase, read once). */
export interface FinishedTest {
  name: string;
  /** The test file relative to the project root, naming a custom check. */
  moduleId: string;
  /** The test's `task.meta`, where a check leaves its CheckMeta. */
  meta: object;
  state: 'passed' | 'failed' | 'skipped' | 'pending';
  errors: ReadonlyArray<{ message: string }>;
  /** The skip note (`ctx.skip(note)`). */
  note?: string;
  durationMs: number;
}

/** The check record of one finished drill test. */
export function checkRecordOf(test: FinishedTest): CheckResult {
  const meta = checkMetaOf(test.meta).pgdrill;
  const firstError = test.state === 'failed' ? test.errors[0]?.message || 'failed' : undefined;
  // 'pending' (collected but never finished, e.g. an interrupted run) is a failure, never a pass.
  const status = test.state === 'passed' ? (meta?.status ?? 'pass') : test.state === 'skipped' ? 'skip' : 'fail';
  const outcome = firstError?.split('\n')[0] ?? (test.state === 'pending' ? 'did not finish' : test.state === 'skipped' ? test.note || 'skipped' : 'passed');
  const summary = meta?.summary ?? outcome;
  return {
    id: meta?.id ?? slug(test.name),
    title: meta?.title ?? test.name,
    description: meta?.description ?? `Custom check in ${test.moduleId}`,
    builtIn: meta?.builtIn ?? false,
    status,
    durationMs: test.durationMs,
    summary,
    ...(status === 'fail' ? { failure: firstError ?? summary } : status === 'warn' ? { failure: summary } : {}),
    ...(meta?.evidence ? { evidence: JSON.parse(JSON.stringify(meta.evidence)) } : {}),
  };
}

function checkRecord(test: TestCase): CheckResult {
  const result = test.result();
  return checkRecordOf({
    name: test.name,
    moduleId: test.module.relativeModuleId,
    meta: test.meta(),
    state: result.state,
    errors: result.errors ?? [],
    note: result.state === 'skipped' ? result.note : undefined,
    durationMs: Math.round(test.diagnostic()?.duration ?? 0),
  });
}

/**
 * Turns a finished drill run into its record: evidence JSON, HTML and PDF under reports/, uploaded
 * beside the backups, then handed to the notifier. `result` holds the verdict for the CLI to print
 * and exit on.
 */
export class DrillReporter implements Reporter {
  readonly #options: Omit<DrillOptions, 'afterRestore'>;
  readonly #notifier: Notifier;
  #vitest: Vitest | undefined;
  /** Set when the run ends: the verdict, the report's paths, or why there is no report. */
  result: DrillResult | undefined;

  constructor(options: Omit<DrillOptions, 'afterRestore'> = {}, notifier: Notifier = createConsoleNotifier()) {
    this.#options = options;
    this.#notifier = notifier;
  }

  onInit(vitest: Vitest): void {
    this.#vitest = vitest;
  }

  async onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): Promise<void> {
    // The global setup provided the drill's state to the drill project.
    const state = this.#vitest?.getProjectByName('drill').getProvidedContext().pgdrill;
    if (!state) return;
    const tests = modules.flatMap((m) => [...m.children.allTests()]);
    const checks = tests.map(checkRecord);
    // Checks time: from the first check's start to the last one's end (files run in parallel).
    const spans = tests.map((t) => t.diagnostic()).filter((d) => d !== undefined);
    const checksMs = spans.length ? Math.round(Math.max(...spans.map((d) => d.startTime + d.duration)) - Math.min(...spans.map((d) => d.startTime))) : 0;
    const failedChecks = checks.filter((c) => c.status === 'fail').map((c) => c.title);
    const failures = checks.filter((c) => c.status === 'fail').map((c) => ({ title: c.title, summary: c.summary }));
    const moduleErrors = modules.flatMap((m) => m.errors().map((e) => `${m.relativeModuleId}: ${e.message}`));
    const errors = [...unhandledErrors.map((e) => e.message), ...moduleErrors];
    if (!state.manifest && !state.pitr) {
      this.result = { verdict: 'FAIL', drillId: state.drillId, failedChecks, failures, error: state.restore.error };
      return;
    }
    const config = await loadDrillConfig(this.#options);
    // reports/ belongs to the project the drill ran in.
    const outDir = path.resolve(this.#options.cwd ?? process.cwd(), config.report.outDir);
    const storage = openStorage(config);
    try {
      // One drill files at a time: the history is read, the evidence made (finishedAt included) and
      // rendered under the ledger lock, so concurrent drills chain one after the other.
      const filed = await appendToLedger(
        storage,
        config.storage.prefix,
        {
          owner: state.drillId,
          historyLimit: 11,
          onInvalid: (key, error) => process.stderr.write(`pgdrill: ignoring unreadable drill record ${key}: ${error.message}\n`),
          log: (line) => process.stderr.write(`pgdrill: ${line}\n`),
        },
        async (history) => {
          const evidence = DrillEvidence.parse(buildEvidence({ state, checks, checksMs, finishedAt: new Date(), config, history, unhandledErrors: errors }));
          // The verdict stands even if rendering or publishing fails below; the CLI reports both.
          this.result = { verdict: evidence.verdict, drillId: state.drillId, failedChecks, failures };
          // The evidence is the record: on disk before Chromium or storage get a chance to fail.
          const jsonPath = path.join(outDir, state.startedAt.slice(0, 7), `${state.drillId}.json`);
          await makeDirectory(path.dirname(jsonPath));
          await writeFile(jsonPath, serializeEvidence(evidence));
          this.result.jsonPath = jsonPath;
          // Chromium's driver and the templates load only now, after the evidence is on disk.
          const { renderReport } = await import('../report/index.ts');
          const rendered = await renderReport(evidence, {
            outDir,
            chromiumPath: config.report.chromiumPath,
            logoPath: config.report.logoPath,
            signingKey: config.report.signingKey,
          });
          this.result.pdfPath = rendered.pdfPath;
          return { paths: rendered, evidence };
        },
      );
      await this.#notifier.notify(buildNotification(filed.entry.evidence, filed.entry.paths.pdfPath, { reportKey: filed.published.pdfKey }));
    } catch (error) {
      this.result ??= { verdict: 'FAIL', drillId: state.drillId, failedChecks, failures };
      this.result.error = `the drill record could not be completed: ${(error as Error).message}`;
      this.result.reportError = error;
    } finally {
      await storage.close();
    }
  }
}

export default DrillReporter;
