// `pnpm bench:pitr [--size 50MB] [--reps 2] [--no-docs]`
//
// Point-in-time drill benchmark (issue 17): `pgdrill drill --pitr` against what an operator does by
// hand, on the same repository, target, binaries and machine, in the same run:
//   1. an embedded PostgreSQL 15 source with the OSLRS fixture archives its WAL with pgBackRest into
//      a local repository (test/helpers/pgbackrest.ts); one full backup; markers 1 and 2; rows
//      deleted; marker 3. The target is 1 s after marker 2, before the deletion.
//   2. `reps` rounds, the order alternated each round:
//        raw  `pgbackrest restore --type=time --target=… --target-action=promote --archive-mode=off`
//             into an empty folder, `pg_ctl start` on it, polled until pg_is_in_recovery() is false;
//        drill the real CLI, `bin/pgdrill.js drill --pitr --target-time …`, spawn to exit: restore,
//             recovery, every check (tables read, amcheck, roles, sequences, audit chain,
//             sensitivity, pgbackrest verify beside the restore), evidence and PDF.
//   3. medians, the ratio of the drill's restore + recovery to raw (like for like), and of the whole
//      drill to raw (issue 17 target: ≤ 1.2× on the 1 GB fixture) → a Markdown
//      table on stdout, appended to docs/benchmarks.md unless --no-docs. Progress goes to stderr.
// Everything it starts (clusters, folders) is removed at the end.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile, appendFile, chown } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { parseSize, rowsForTargetBytes } from '../../fixtures/index.ts';
import type { EmbeddedSandbox } from '../../src/sandbox/index.ts';
import { startArchivingSource } from '../../test/helpers/pgbackrest.ts';
import { cleanEnv, codeVersion, fmtRatio, fmtSeconds, median, timed } from './measure.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'bin', 'pgdrill.js');
const DOCS = path.join(ROOT, 'docs', 'benchmarks.md');
const PG_BIN = '/usr/lib/postgresql/15/bin';
const TARGET_RATIO = 1.2;
const DELETED_FROM = 'registry.verification_cases';
const DELETED_WHERE = "outcome = 'disputed'";

const { values: args } = parseArgs({ options: { size: { type: 'string', default: '50MB' }, reps: { type: 'string', default: '2' }, 'no-docs': { type: 'boolean', default: false } } });
const sizeBytes = parseSize(args.size);
const reps = Number(args.reps);
const log = (line: string) => process.stderr.write(`[bench:pitr] ${line}\n`);

const work = await mkdtemp(path.join(os.tmpdir(), 'pgdrill-bench-pitr-'));
log(`loading the fixture (${args.size}) into an archiving source…`);
const src = await startArchivingSource({ rows: rowsForTargetBytes(sizeBytes) });
const postgres = process.getuid?.() === 0 ? { uid: Number((await execa('id', ['-u', 'postgres'])).stdout), gid: Number((await execa('id', ['-g', 'postgres'])).stdout) } : undefined;
try {
  const dbBytes = Number((await src.query<{ bytes: string }>('SELECT pg_database_size(current_database())::text AS bytes'))[0]!.bytes);
  log(`database ${(dbBytes / 1e6).toFixed(0)} MB; full backup…`);
  const backup = await timed(() => src.pgbackrest(['backup', '--type=full', '--repo=1']));
  const sandbox = src.source.sandbox as EmbeddedSandbox;
  const project = path.join(work, 'project');
  await mkdir(path.join(project, 'drills'), { recursive: true });
  await writeFile(
    path.join(project, 'pgdrill.config.json'),
    JSON.stringify({
      pitr: { stanza: src.stanza, options: { 'repo1-path': src.repo, 'pg1-path': sandbox.dataDir, 'lock-path': path.join(src.dir, 'lock') } },
      drill: { loginRoles: [{ name: 'oslrs_app', passwordEnv: 'OSLRS_APP_PASSWORD' }] },
    }),
  );
  const env = (extra: Record<string, string> = {}) =>
    cleanEnv({ DATABASE_URL: src.source.url, PGDRILL_STORAGE: path.join(work, 'store'), PGDRILL_CANARY_PASSWORD: src.source.canaryPassword, OSLRS_APP_PASSWORD: src.source.appPassword, ...extra });
  const mark = async (): Promise<{ id: number; markedAt: string; walFile: string }> => {
    const { stdout } = await execa(process.execPath, [CLI, 'pitr', 'mark', '--json'], { cwd: project, env: env(), extendEnv: false });
    return JSON.parse(stdout) as { id: number; markedAt: string; walFile: string };
  };
  await mark();
  const m2 = await mark();
  await new Promise((resolve) => setTimeout(resolve, 3000));
  // "Rows deleted at 14:02" (the runbook's example): the rows the target must bring back.
  const deleted = (await src.query<{ n: string }>(`WITH d AS (DELETE FROM ${DELETED_FROM} WHERE ${DELETED_WHERE} RETURNING 1) SELECT count(*)::text AS n FROM d`))[0]!.n;
  const m3 = await mark();
  await src.waitArchived(m3.walFile);
  const target = new Date(Date.parse(m2.markedAt) + 1000).toISOString();
  const pgTarget = target.replace('T', ' ').replace('Z', '+00');

  /** The runbook's copy-back: the deleted rows out of the recovered cluster, into the source where missing. */
  const copyBack = async (dir: string, as: { uid?: number; gid?: number; cwd: string }): Promise<number> => {
    const csv = path.join(dir, 'rescued.csv');
    const started = performance.now();
    const psql = path.join(PG_BIN, 'psql');
    await execa(psql, ['-h', dir, '-U', sandbox.connection.user, '-d', 'oslrs', '-v', 'ON_ERROR_STOP=1', '-c', `\\copy (SELECT * FROM ${DELETED_FROM} WHERE ${DELETED_WHERE}) TO '${csv}' CSV HEADER`], as);
    const sql = `BEGIN;\nCREATE TEMP TABLE rescued (LIKE ${DELETED_FROM});\n\\copy rescued FROM '${csv}' CSV HEADER\nINSERT INTO ${DELETED_FROM} OVERRIDING SYSTEM VALUE SELECT * FROM rescued r WHERE NOT EXISTS (SELECT 1 FROM ${DELETED_FROM} v WHERE v.id = r.id);\nCOMMIT;\n`;
    await execa(psql, ['-d', src.source.url, '-v', 'ON_ERROR_STOP=1', '-q', '-f', '-'], { ...as, input: sql });
    const ms = performance.now() - started;
    // Deleted again, so the next round rescues the same rows.
    await src.query(`DELETE FROM ${DELETED_FROM} WHERE ${DELETED_WHERE}`);
    return ms;
  };

  const raw = async (round: number): Promise<{ ms: number; restoreMs: number; copyBackMs: number }> => {
    // In the source's folder: the cluster's OS user must reach it (the bench's own folder is root's, 0700).
    const dir = path.join(src.dir, `raw-${round}`);
    await mkdir(dir, { mode: 0o700 });
    if (postgres) await chown(dir, postgres.uid, postgres.gid);
    const as = { ...(postgres ?? {}), cwd: '/' };
    const started = performance.now();
    await src.pgbackrest(['restore', `--pg1-path=${dir}`, '--type=time', `--target=${pgTarget}`, '--target-action=promote', '--archive-mode=off']);
    const restoreMs = performance.now() - started;
    const opts = `-c listen_addresses='' -c port=5432 -c unix_socket_directories=${dir} -c archive_mode=off -c logging_collector=off`;
    await execa(path.join(PG_BIN, 'pg_ctl'), ['start', '-D', dir, '-l', path.join(dir, 'server.log'), '-w', '-t', '600', '-o', opts], { ...as, stdio: 'ignore' });
    for (;;) {
      const { stdout } = await execa(path.join(PG_BIN, 'psql'), ['-h', dir, '-U', sandbox.connection.user, '-d', 'postgres', '-Atc', 'SELECT pg_is_in_recovery()'], { ...as, reject: false });
      if (stdout.trim() === 'f') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const ms = performance.now() - started;
    const copyBackMs = await copyBack(dir, as);
    await execa(path.join(PG_BIN, 'pg_ctl'), ['stop', '-D', dir, '-m', 'immediate', '-w'], { ...as, reject: false, stdio: 'ignore' });
    await rm(dir, { recursive: true, force: true });
    return { ms, restoreMs, copyBackMs };
  };

  const drill = async (round: number): Promise<{ ms: number; verdict: string; restoreMs: number; recoveryMs: number; rtoMs: number; checksMs: number; slowest: string; timeline: string }> => {
    const reports = path.join(work, `reports-${round}`);
    const spawnedAt = Date.now();
    const { ms, value: child } = await timed(() =>
      execa(process.execPath, [CLI, 'drill', '--pitr', '--target-time', target], { cwd: project, env: env({ PGDRILL_REPORTS_DIR: reports }), extendEnv: false, reject: false, all: true }),
    );
    const verdict = /^Drill \S+: (PASS|FAIL)$/m.exec(String(child.stdout))?.[1] ?? `exit ${child.exitCode}`;
    if (verdict !== 'PASS') log(`drill round ${round}: ${verdict}\n${String(child.all).slice(-3000)}`);
    const files = await readdir(reports, { recursive: true });
    const json = files.find((f) => f.endsWith('.json'));
    type Filed = {
      pitr?: { timings: { restoreMs: number; recoveryMs: number } };
      timings: { rtoMs: number; checksMs: number };
      checks: Array<{ id: string; durationMs: number }>;
      timeline: Array<{ step: string; at: string }>;
    };
    const evidence = json ? (JSON.parse(await readFile(path.join(reports, json), 'utf8')) as Filed) : undefined;
    const slowest = [...(evidence?.checks ?? [])]
      .sort((a, b) => b.durationMs - a.durationMs)
      .slice(0, 3)
      .map((c) => `${c.id} ${fmtSeconds(c.durationMs)}`)
      .join(', ');
    await rm(reports, { recursive: true, force: true });
    return {
      ms,
      verdict,
      restoreMs: evidence?.pitr?.timings.restoreMs ?? NaN,
      recoveryMs: evidence?.pitr?.timings.recoveryMs ?? NaN,
      rtoMs: evidence?.timings.rtoMs ?? NaN,
      checksMs: evidence?.timings.checksMs ?? NaN,
      slowest,
      // Where the wall time goes: each step of the drill's timeline, seconds after the spawn.
      timeline: (evidence?.timeline ?? []).map((t) => `${t.step} +${((Date.parse(t.at) - spawnedAt) / 1000).toFixed(1)} s`).join(', ') + `, exit +${(ms / 1000).toFixed(1)} s`,
    };
  };

  const rawRuns: Array<Awaited<ReturnType<typeof raw>>> = [];
  const drillRuns: Array<Awaited<ReturnType<typeof drill>>> = [];
  for (let round = 0; round < reps; round++) {
    for (const which of round % 2 === 0 ? (['raw', 'drill'] as const) : (['drill', 'raw'] as const)) {
      log(`round ${round + 1}: ${which}…`);
      if (which === 'raw') rawRuns.push(await raw(round));
      else drillRuns.push(await drill(round));
      log(`  ${fmtSeconds((which === 'raw' ? rawRuns : drillRuns).at(-1)!.ms)}`);
    }
  }
  const rawMs = median(rawRuns.map((r) => r.ms));
  const drillMs = median(drillRuns.map((r) => r.ms));
  const ratio = drillMs / rawMs;
  const drillRecoveryMs = median(drillRuns.map((r) => r.restoreMs + r.recoveryMs));
  const code = await codeVersion(['src', 'bin', 'fixtures']);
  const table = [
    `## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — \`pnpm bench:pitr --size ${args.size} --reps ${reps}\` (${code})`,
    '',
    `Source ${(dbBytes / 1e6).toFixed(0)} MB (pg_database_size), pgBackRest ${(await execa('pgbackrest', ['version'])).stdout.replace('pgBackRest ', '')} full backup ${fmtSeconds(backup.ms)}, lz4, local repository; target 1 s after a marker, before \`DELETE FROM ${DELETED_FROM} WHERE ${DELETED_WHERE}\` (${deleted} rows). Medians of ${reps}.`,
    '',
    '| | wall time | of which restore | recovery + start | drill verdict |',
    '|---|---|---|---|---|',
    `| raw \`pgbackrest restore\` + \`pg_ctl start\` until promoted | ${fmtSeconds(rawMs)} | ${fmtSeconds(median(rawRuns.map((r) => r.restoreMs)))} | ${fmtSeconds(rawMs - median(rawRuns.map((r) => r.restoreMs)))} | |`,
    `| runbook copy-back of the ${deleted} deleted rows (\`\\copy\` out of the recovered cluster, into the source where missing) | ${fmtSeconds(median(rawRuns.map((r) => r.copyBackMs)))} | | | |`,
    `| \`pgdrill drill --pitr --target-time …\` (spawn to exit, checks and PDF included) | ${fmtSeconds(drillMs)} | ${fmtSeconds(median(drillRuns.map((r) => r.restoreMs)))} | ${fmtSeconds(median(drillRuns.map((r) => r.recoveryMs)))} | ${drillRuns.map((r) => r.verdict).join(', ')} (RTO in evidence ${fmtSeconds(median(drillRuns.map((r) => r.rtoMs)))}) |`,
    '',
    `Inside the drill: checks ${fmtSeconds(median(drillRuns.map((r) => r.checksMs)))} (slowest, last round: ${drillRuns.at(-1)!.slowest}); last round's timeline from the spawn: ${drillRuns.at(-1)!.timeline}; the rest of the wall time beyond restore, recovery and checks is planning (\`pgbackrest info\`, the archive listing, markers), Node and vitest start-up, evidence, HTML and the Chromium PDF, teardown.`,
    '',
    `Like for like, the drill's restore + recovery and start / raw: **${fmtRatio(drillRecoveryMs / rawMs)}**.`,
    '',
    `Drill / raw: **${fmtRatio(ratio)}** (target ≤ ${TARGET_RATIO}× on the 1 GB fixture: ${ratio <= TARGET_RATIO ? 'met' : 'MISSED'}${sizeBytes < 512 * 1024 * 1024 ? '; this size is below it, the fixed costs of the checks and the PDF weigh more' : ''}).`,
    '',
  ].join('\n');
  process.stdout.write(`${table}\n`);
  if (!args['no-docs']) await appendFile(DOCS, `\n${table}`);
} finally {
  await src.stop().catch(() => undefined);
  await rm(work, { recursive: true, force: true });
}
