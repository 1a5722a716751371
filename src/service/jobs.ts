import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { PgdrillConfig } from '../config/index.ts';
import { ConfigError, errorKind, exitCodeOf, RefusedError } from '../errors/index.ts';
import type { JobKind, Notifier } from '../notify/index.ts';
import type { FleetDatabase } from './fleet.ts';
import { JOB_KINDS } from './state.ts';

// The job kinds, each a thin wrapper over the same library function the CLI command calls:
// nothing a job does is written twice. Queues are one per kind (so a worker can run backups and a
// CPU-heavy drill with different concurrency); job data names the database. The operations (and
// what they load: pg_dump's plumbing, crypto, storage drivers) load with the first job, so an idle
// worker and `pgdrill run`, `schedule` and `status` do not carry them.

export interface JobData {
  database: string;
  trigger: 'schedule' | 'manual' | 'after-backup';
  /** After a backup: its UTC day; verify checks backups taken on or after it. */
  since?: string;
}

export interface JobOutcome {
  kind: JobKind;
  database: string;
  /** One line for logs, status and `pgdrill run --wait`. */
  summary: string;
  /** backup: what was published. */
  backup?: { id: string; key: string; tier: string; sizeBytes: number; durationMs: number; sha256: string; takenAt: string };
  /** drill: its verdict and report. */
  drill?: { drillId: string; verdict: 'PASS' | 'FAIL'; pdfPath?: string };
  /** Not run: another job of this database held the lock. */
  skipped?: string;
}

/**
 * A job's failure as it travels through the queue: BullMQ keeps only the message, so the exit code
 * the CLI would have used leads it (`pgdrill run --wait` exits with it) and errorKind follows.
 */
export class JobFailure extends Error {
  readonly exitCode: number;
  readonly kind: string;
  /** No retry can help (configuration, a failed drill): BullMQ's UnrecoverableError is matched by name. */
  readonly unrecoverable: boolean;
  constructor(error: unknown, unrecoverable: boolean) {
    const message = error instanceof Error ? error.message : String(error);
    const code = exitCodeOf(error);
    super(`[exit ${code}] ${errorKind(error)}: ${message}`);
    this.exitCode = code;
    this.kind = errorKind(error);
    this.unrecoverable = unrecoverable;
    // BullMQ moves a job straight to failed, without retries, when the error is named so.
    if (unrecoverable) this.name = 'UnrecoverableError';
  }
}

/** The exit code `[exit N]` a failed job's reason starts with (1 when it has none). */
export function exitCodeOfReason(reason: string | undefined): number {
  return Number(/^\[exit (\d+)\]/.exec(reason ?? '')?.[1] ?? 1);
}

export type Queues = Record<JobKind, Queue<JobData, JobOutcome>>;

export function openQueue(kind: JobKind, connection: ConnectionOptions, prefix: string): Queue<JobData, JobOutcome> {
  return new Queue<JobData, JobOutcome>(kind, { connection, prefix });
}

export function openQueues(connection: ConnectionOptions, prefix: string): Queues {
  return Object.fromEntries(JOB_KINDS.map((kind) => [kind, openQueue(kind, connection, prefix)])) as Queues;
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all(Object.values(queues).map((q) => q.close()));
}

/** Retries with the configured delays (BullMQ's custom backoff, see the worker's backoffStrategy). */
export function jobOptions(config: PgdrillConfig): JobsOptions {
  return {
    attempts: config.service.retryBackoffSeconds.length + 1,
    backoff: { type: 'pgdrill' },
    removeOnComplete: { age: 90 * 86_400, count: 5000 },
    removeOnFail: { age: 90 * 86_400, count: 5000 },
  };
}

export interface RunContext {
  configFile?: string;
  cwd: string;
  signal: AbortSignal;
  /** Where a drill's own notification (drill finished, with its PDF) goes. */
  drillNotifier: Notifier;
  onProgress?: (progress: Record<string, unknown>) => void;
}

/** Runs one job: the operation the CLI command runs, for one database of the fleet. */
export async function runJob(kind: JobKind, database: FleetDatabase, data: JobData, context: RunContext): Promise<JobOutcome> {
  const base = { configFile: context.configFile, cwd: context.cwd, overrides: database.overrides, signal: context.signal };
  try {
    const { assertVerified, backup, drill, pitrMark, prune, verify } = await import('../operations/index.ts');
    switch (kind) {
      case 'backup': {
        // Retention and verification follow as jobs of their own (schedule.prune/verify 'after-backup').
        const { backup: result } = await backup({ ...base, prune: false, onProgress: (p) => context.onProgress?.({ bytes: p.bytes, elapsedMs: p.elapsedMs }) });
        const m = result.manifest;
        const sizeBytes = m.objects.dump.size + (m.objects.globals?.size ?? 0);
        return {
          kind,
          database: database.name,
          summary: `backup ${m.objects.dump.key} ${sizeBytes} bytes in ${m.durationMs} ms`,
          backup: { id: m.id, key: m.objects.dump.key, tier: m.tier, sizeBytes, durationMs: m.durationMs, sha256: m.objects.dump.sha256, takenAt: m.startedAt },
        };
      }
      case 'prune': {
        const outcome = await prune(base);
        return { kind, database: database.name, summary: `retention: ${outcome.plan.promote.length} promoted, ${outcome.plan.delete.length} deleted, ${outcome.orphans.length} orphan(s) removed` };
      }
      case 'verify': {
        const outcome = await verify({ ...base, since: data.since });
        assertVerified(outcome);
        return { kind, database: database.name, summary: `verified ${outcome.report.results.length} backup(s): all OK` };
      }
      case 'pitr-mark': {
        const marker = await pitrMark(base);
        return { kind, database: database.name, summary: `marker ${marker.id} at ${marker.markedAt}; WAL segment ${marker.walFile} switched for archiving` };
      }
      case 'drill': {
        const result = await drill({ configFile: context.configFile, cwd: context.cwd, overrides: database.overrides, notifier: context.drillNotifier });
        const outcome: JobOutcome = {
          kind,
          database: database.name,
          summary: `drill ${result.drillId}: ${result.verdict}${result.failedChecks.length ? ` (failed: ${result.failedChecks.join('; ')})` : ''}`,
          drill: { drillId: result.drillId, verdict: result.verdict, pdfPath: result.pdfPath },
        };
        // A failed drill is a failed job, but running it again would fail the same way.
        if (result.verdict === 'FAIL') throw new JobFailure(new DrillFailedError(outcome.summary), true);
        return outcome;
      }
    }
  } catch (error) {
    if (error instanceof JobFailure) throw error;
    // Another backup of this database holds its lock (a manual run during the scheduled one): not a failure.
    if (error instanceof RefusedError) return { kind, database: database.name, summary: `skipped: ${error.message}`, skipped: error.message };
    throw new JobFailure(error, error instanceof ConfigError);
  }
}

/** A drill that ran to its verdict, FAIL. */
class DrillFailedError extends Error {
  override name = 'DrillFailed';
}
