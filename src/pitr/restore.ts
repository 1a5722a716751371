// The point-in-time restore: `pgbackrest restore` of the planned set into the sandbox's private data
// directory (--archive-mode=off: the restored cluster never archives into the production
// repository; delta off: the directory is empty), the embedded sandbox started on it, recovery to
// the target, then what the restored cluster shows about where it ended.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { auditChainHead, listTables, parseTableName, qualifiedName, quoteIdent } from '../inspect/index.ts';
import type { PgdrillConfig } from '../config/index.ts';
import { RestoreError } from '../errors/index.ts';
import { startEmbeddedSandbox, type EmbeddedSandbox } from '../sandbox/index.ts';
import { pgbackrest, printable, verifyRepository, type PgbackrestRunner } from './pgbackrest.ts';
import { describeGap, nextSegment, pgTime, segmentAtOrBefore } from './plan.ts';
import type { PitrPreparation } from './prepare.ts';
import { connectSource, readMarkers } from './source.ts';
import type { PitrOutcome } from './types.ts';

export interface PointInTimeRestore {
  outcome: PitrOutcome;
  /** The running sandbox on the recovered cluster (stop it when done); absent when the restore failed. */
  sandbox?: EmbeddedSandbox;
  /** Why the restore or recovery failed. */
  error?: unknown;
}

/** The `pgbackrest restore` arguments of a plan (never a secret: those are in the environment). */
export function restoreArgs(prep: PitrPreparation, dataDir: string): string[] {
  const { target, set } = prep.plan;
  const typeArgs =
    target.type === 'time'
      ? ['--type=time', `--target=${pgTime(target.value!)}`, '--target-action=promote']
      : target.type === 'name'
        ? ['--type=name', `--target=${target.value}`, '--target-action=promote']
        : ['--type=default'];
  return ['restore', `--pg1-path=${dataDir}`, ...typeArgs, '--archive-mode=off', `--set=${set.label}`];
}

/** What recovery's own log says: where it stopped, and the last segment it restored. */
export function readRecoveryLog(log: string): { recoveryStop: string | null; lastRestoredSegment: string | null; fatal: string[] } {
  const stop = /LOG:\s+(recovery stopping [^\n]*)/.exec(log)?.[1] ?? null;
  const restored = [...log.matchAll(/restored log file "([0-9A-F]{24})" from archive/g)].map((m) => m[1]!).sort();
  const fatal = [...log.matchAll(/FATAL:\s+([^\n]*)/g)].map((m) => m[1]!).filter((line) => !/not accepting connections|starting up|in recovery mode|shutting down/.test(line));
  return { recoveryStop: stop, lastRestoredSegment: restored.at(-1) ?? null, fatal };
}

/** The environment of the restored server: its restore_command is `pgbackrest archive-get`, which reads the repository only. */
function serverEnv(runner: PgbackrestRunner): Record<string, string> {
  // No asynchronous archive-get: it would queue segments in a spool folder production may share.
  return { ...runner.env, PGBACKREST_ARCHIVE_ASYNC: 'n' };
}

export async function restorePointInTime(
  prep: PitrPreparation,
  config: PgdrillConfig,
  options: { signal?: AbortSignal; mark?: (step: string, detail?: string) => void; runner?: PgbackrestRunner } = {},
): Promise<PointInTimeRestore> {
  const runner = options.runner ?? pgbackrest(config.pitr!);
  const mark = options.mark ?? (() => {});
  const { plan } = prep;
  const outcome: PitrOutcome = {
    stanza: runner.stanza,
    cipher: prep.info.cipher,
    target: plan.target,
    set: { ...plan.set, reason: plan.setReason, restoredStartLsn: null },
    archive: prep.archive,
    markers: { available: prep.markers !== null, expected: plan.expectedMarker, firstAbsent: plan.firstAbsentMarker, restoredNewest: null, restoredCount: 0, firstAbsentRestored: false },
    reached: { lastReplayAt: null, recoveryStop: null, lastRestoredSegment: null, inRecovery: null },
    timings: { restoreMs: null, recoveryMs: null },
    verify: null,
    info: prep.info.raw,
    tables: [],
    auditChain: null,
    superuser: prep.superuser,
  };
  // The repository check reads every file. It starts once pgbackrest restore has finished, beside
  // recovery and the inspection: beside the restore it slowed the restore (and so the measured RTO)
  // by half as much again on two cores.
  let verifying: ReturnType<typeof verifyRepository> | undefined;
  const verify = () => (verifying ??= verifyRepository(runner, { signal: options.signal }));
  const targetText = plan.target.type === 'time' ? pgTime(plan.target.value!) : plan.target.type === 'name' ? `restore point "${plan.target.value}"` : 'the end of the archive';
  let sandbox: EmbeddedSandbox | undefined;
  try {
    const started = Date.now();
    sandbox = await startEmbeddedSandbox({
      major: prep.major,
      binDir: config.sandbox.binDir,
      database: prep.database,
      cluster: {
        superuser: prep.superuser,
        serverEnv: serverEnv(runner),
        scrub: runner.secrets,
        populate: async (dataDir, owner) => {
          const restoring = Date.now();
          // As the sandbox server's OS user: the files are its own whatever user names the repository's manifest holds.
          await runner.run(restoreArgs(prep, dataDir), {
            ...(owner.uid !== undefined ? { uid: owner.uid, gid: owner.gid } : {}),
            cwd: '/',
            cancelSignal: options.signal,
            as: RestoreError,
            context: `of set ${plan.set.label} (stanza ${runner.stanza}) into the sandbox`,
            hint: 'See pgBackRest\'s message; check the repository options and that this host can read the repository',
          });
          outcome.timings.restoreMs = Date.now() - restoring;
          // Awaited below; a handler now, so an abort meanwhile is not an unhandled rejection.
          verify().catch(() => {});
          const label = await readFile(path.join(dataDir, 'backup_label'), 'utf8').catch(() => '');
          outcome.set.restoredStartLsn = /START WAL LOCATION: (\S+)/.exec(label)?.[1] ?? null;
          mark('restored', `pgbackrest restore of set ${plan.set.label} to ${targetText}`);
        },
        explainStartFailure: (log) => recoveryFailure(log, prep, targetText, runner),
      },
    });
    outcome.timings.recoveryMs = Date.now() - started - (outcome.timings.restoreMs ?? 0);
    const log = readRecoveryLog(await readFile(sandbox.logFile, 'utf8').catch(() => ''));
    outcome.reached.recoveryStop = log.recoveryStop;
    outcome.reached.lastRestoredSegment = log.lastRestoredSegment;
    mark('recovered', log.recoveryStop ?? `recovered to ${targetText}`);
    await inspectRestored(sandbox, prep, config, outcome);
    outcome.verify = await verify();
    return { outcome, sandbox };
  } catch (error) {
    // A failed restore or recovery still gets the repository's own verdict, for the report.
    outcome.verify = await verify().catch(() => null);
    await sandbox?.stop().catch(() => {});
    return { outcome, error };
  }
}

/** A start that failed: recovery ended before its target (a segment missing from the archive, named) or another fatal error. */
function recoveryFailure(serverLog: string, prep: PitrPreparation, targetText: string, runner: PgbackrestRunner): Error | undefined {
  const log = readRecoveryLog(printable(serverLog, runner.secrets));
  if (log.fatal.some((line) => /recovery ended before configured recovery target was reached/.test(line))) {
    const missing = log.lastRestoredSegment ? nextSegment(log.lastRestoredSegment, prep.archive.segmentBytes) : null;
    const gap = missing ? prep.archive.gaps.find((g) => segmentAtOrBefore(g.firstMissing, missing) && segmentAtOrBefore(missing, g.lastMissing)) : undefined;
    const why = gap ? describeGap(gap) : missing ? `the repository has no WAL segment ${missing} (the last one restored was ${log.lastRestoredSegment})` : 'the archive ended before it';
    return new RestoreError(`Recovery to ${targetText} stopped before reaching it: ${why}`, {
      hint: 'The archive is broken from that segment on: check archive_command on the source (pgdrill pitr doctor) and take a new full backup',
    });
  }
  if (log.fatal.length) return new RestoreError(`The restored cluster did not start: ${log.fatal.slice(-2).join('; ')}`, { hint: 'See the server log; a setting of the source (shared_preload_libraries, …) may need binaries this host lacks' });
  return undefined;
}

/** Where the recovered cluster ended: replay time, markers, tables and audit-chain head (and that head in the source). */
async function inspectRestored(sandbox: EmbeddedSandbox, prep: PitrPreparation, config: PgdrillConfig, outcome: PitrOutcome): Promise<void> {
  const db = new pg.Client({ connectionString: sandbox.connectionUri() });
  await db.connect();
  try {
    const state = (await db.query<{ replay: Date | null; in_recovery: boolean }>('SELECT pg_last_xact_replay_timestamp() AS replay, pg_is_in_recovery() AS in_recovery')).rows[0]!;
    outcome.reached.lastReplayAt = state.replay?.toISOString() ?? null;
    outcome.reached.inRecovery = state.in_recovery;
    const restored = await readMarkers(db);
    outcome.markers.restoredCount = restored?.length ?? 0;
    outcome.markers.restoredNewest = restored?.at(-1) ?? null;
    outcome.markers.firstAbsentRestored = Boolean(prep.plan.firstAbsentMarker && restored?.some((m) => m.id === prep.plan.firstAbsentMarker!.id));
    outcome.tables = await listTables(db);
    const chain = config.backup.auditChain;
    const head = chain ? await auditChainHead(db, chain) : null;
    if (chain && head) {
      const { client } = await connectSource(config);
      try {
        const { rows } = await client.query<{ hash: string }>(`SELECT t.${quoteIdent(chain.hashColumn)}::text AS hash FROM ${qualifiedName(parseTableName(chain.table))} AS t WHERE t.${quoteIdent(chain.orderColumn)}::text = $1`, [head.lastId]);
        outcome.auditChain = { restoredHead: head, sourceHash: rows[0]?.hash ?? null };
      } finally {
        await client.end().catch(() => {});
      }
    } else if (chain) outcome.auditChain = { restoredHead: null, sourceHash: null };
  } finally {
    await db.end().catch(() => {});
  }
}
