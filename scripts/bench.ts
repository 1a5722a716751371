// `pnpm bench [--size 50MB[,1GB]] [--reps 3] [--no-restore] [--no-docs]`
// `pnpm bench --api [--backups 10000] [--requests 200] [--no-docs]`: the admin API and page instead (scripts/bench/api.ts)
//
// Backup and restore benchmark of pgdrill against raw PostgreSQL tools on the same server, same
// binaries, same machine, in the same run (issue 4 item 10, issue 5 item 2). Per size:
//   1. an embedded PostgreSQL 15 sandbox is loaded with the OSLRS fixture and VACUUM FREEZE'd;
//   2. backup, `reps` rounds, the order rotated each round (A B C, B C A, C A B, …):
//        A  raw `pg_dump -Fc -Z0 -f file`,
//        B  the seed's `pg_dump -Fp | gzip -6` (two processes joined by a pipe, no shell),
//        C  the real CLI, `bin/pgdrill.js backup` into a local folder, as a child process with
//           the CLI's shebang Node options: wall time from spawn to exit, peak RSS and CPU of the
//           Node process;
//   3. restore, `reps` rounds, order rotated, each into a fresh embedded sandbox (start untimed):
//        R0 raw `pg_restore --jobs=2` of A's archive from a local file (roles created untimed first),
//        R1 fetchBackup + restoreFetched (jobs 2) of C's backup, in a child process (peak RSS);
//   4. medians, ratios of medians (and per-round paired ratios), targets → a Markdown table on
//      stdout, appended to docs/benchmarks.md. Exit 0 even when a target is missed (printed MISSED).
// Progress goes to stderr. Everything (sandboxes, temp dirs) is removed at the end, on error and on
// Ctrl-C.
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import pg from 'pg';
import { loadFixture, parseSize, rowsForTargetBytes } from '../fixtures/index.ts';
import { generateKey } from '../src/crypto/index.ts';
import { BackupManifest } from '../src/catalog/index.ts';
import { filterGlobals } from '../src/restore/index.ts';
import { registerCleanup } from '../src/lifecycle/index.ts';
import { startEmbeddedSandbox, stopAllSandboxes } from '../src/sandbox/index.ts';
import type { EmbeddedSandbox } from '../src/sandbox/index.ts';
import { cleanEnv, fmtMB, fmtRatio, fmtSeconds, KIB, MB, median, rotate, runNodeMeasured, shebangNodeArgs, timed } from './bench/measure.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'bin', 'pgdrill.js');
const RESTORE_CANDIDATE = path.join(ROOT, 'scripts', 'bench', 'restore-candidate.ts');
const DOCS = path.join(ROOT, 'docs', 'benchmarks.md');
const MAJOR = 15;
const PG_BIN = `/usr/lib/postgresql/${MAJOR}/bin`;
const GZIP = existsSync('/usr/bin/gzip') ? '/usr/bin/gzip' : 'gzip';
/**
 * The Node options the CLI runs with when started as a program (`pgdrill …`, its shebang line; the
 * package.json scripts pass the same): both Node children run with them, on this Node binary.
 */
const CLI_NODE_ARGS = shebangNodeArgs(await readFile(CLI, 'utf8'));

const TARGETS = {
  backupVsRaw: 1.25, // C / A at most
  gzipVsBackup: 2.5, // B / C at least
  backupRssMB: 150, // peak RSS of the CLI, below, at every size
  rssGrowthMB: 20, // peak RSS may not grow by more than this from the smallest to the largest size
  restoreVsRaw: 1.2, // R1 / R0 at most (issue 5: defined on the 1 GB fixture)
  restoreTargetFromBytes: 512 * 1024 * 1024,
};

// ---------------------------------------------------------------------------------------------
// Arguments

const { values: flags } = parseArgs({
  options: {
    size: { type: 'string', default: '50MB' },
    reps: { type: 'string', default: '3' },
    'no-restore': { type: 'boolean', default: false },
    'no-docs': { type: 'boolean', default: false },
    api: { type: 'boolean', default: false },
    backups: { type: 'string', default: '10000' },
    requests: { type: 'string', default: '200' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  allowPositionals: false,
});
if (flags.help) {
  process.stdout.write(`usage: pnpm bench [--size 50MB[,1GB]] [--reps N] [--no-restore] [--no-docs]
  --size     fixture size(s), comma-separated (pg_database_size target; default 50MB, 1GB takes minutes)
  --reps     rounds per measurement, order rotated each round (default 3; medians of all rounds)
  --no-restore  skip the restore part
  --no-docs  do not append the results to docs/benchmarks.md
  --api      benchmark the admin API and page instead: --backups N manifests (default 10000), --requests N (default 200)
`);
  process.exit(0);
}
const sizes = (flags.size ?? '50MB').split(',').map((s) => s.trim()).filter(Boolean).map((label) => ({ label, bytes: parseSize(label) }));
const reps = Number(flags.reps);
if (!Number.isInteger(reps) || reps < 1 || reps > 50) throw new Error(`--reps must be a whole number 1…50, got ${flags.reps}`);
const withRestore = !flags['no-restore'];

const log = (line: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

// ---------------------------------------------------------------------------------------------
// Cleanup: our temp dirs and every sandbox, also on Ctrl-C / SIGTERM.

const workDirs = new Set<string>();
// Sandboxes register themselves; the temp dirs are one more cleanup of the lifecycle module.
registerCleanup({
  kind: 'temp folder',
  label: 'bench work folders',
  run: async () => {
    for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
  },
  runSync: () => {
    for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
  },
});

// ---------------------------------------------------------------------------------------------
// Results

interface SizeResult {
  label: string;
  targetBytes: number;
  rows: number;
  dbBytes: number;
  loadMs: number;
  loadAvgStart: number[];
  loadAvgEnd: number[];
  rawDumpBytes: number;
  gzipBytes: number;
  storedBytes: number;
  plaintextBytes: number;
  /** Wall times per round, ms (index = round). */
  a: number[];
  b: number[];
  c: number[];
  /** C's manifest durationMs (inside the CLI: after connect + lock, before the manifest write). */
  cInner: number[];
  /** C's peak RSS, KiB, and the two sources behind it. */
  cRss: number[];
  cRssHook: number[];
  cRssPolled: number[];
  /** C's own CPU time (user + system, ms; pg_dump's not included). */
  cCpu: number[];
  /** `pgdrill backup --help`: Node start + the backup command's module graph (wall ms, peak RSS KiB). */
  cliStartup: number[];
  cliStartupRss: number[];
  r0: number[];
  r1: number[];
  r1Rss: number[];
  r1Cpu: number[];
  r1Download: number[];
  r1Decrypt: number[];
  r1Restore: number[];
  /** The pg_restore call alone inside R1's restore (without the globals step). */
  r1PgRestore: number[];
}

// ---------------------------------------------------------------------------------------------
// One size

async function benchSize(label: string, targetBytes: number): Promise<SizeResult> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'pgdrill-bench-'));
  workDirs.add(work);
  const rows = rowsForTargetBytes(targetBytes);
  const result: SizeResult = {
    label, targetBytes, rows, dbBytes: 0, loadMs: 0, loadAvgStart: os.loadavg(), loadAvgEnd: [],
    rawDumpBytes: 0, gzipBytes: 0, storedBytes: 0, plaintextBytes: 0,
    a: [], b: [], c: [], cInner: [], cRss: [], cRssHook: [], cRssPolled: [], cCpu: [], cliStartup: [], cliStartupRss: [],
    r0: [], r1: [], r1Rss: [], r1Cpu: [], r1Download: [], r1Decrypt: [], r1Restore: [], r1PgRestore: [],
  };
  let source: EmbeddedSandbox | undefined;
  try {
    log(`${label}: starting the source sandbox (PostgreSQL ${MAJOR}, embedded) and loading ${rows} respondents`);
    source = await startEmbeddedSandbox({ major: MAJOR, database: 'oslrs' });
    const url = source.connectionUri('oslrs');
    const loaded = await timed(() => loadFixture(url, { rows, canaryPassword: `bench-${randomBytes(9).toString('base64url')}` }));
    result.loadMs = loaded.ms;
    {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        // Steady state of a production database: hint bits set, visibility map current, so the
        // first dump does not pay for the load's aftermath.
        await client.query('VACUUM (FREEZE, ANALYZE)');
        await client.query('CHECKPOINT');
        result.dbBytes = Number((await client.query<{ n: string }>('SELECT pg_database_size(current_database()) AS n')).rows[0]?.n);
      } finally {
        await client.end();
      }
    }
    log(`${label}: loaded in ${fmtSeconds(loaded.ms)}, pg_database_size ${fmtMB(result.dbBytes)}`);

    const { port, user, password } = source.connection;
    const pgEnv = cleanEnv({ PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: user, PGDATABASE: 'oslrs', PGPASSWORD: password });
    const key = generateKey('bench');
    const cliEnv = (storageDir: string) =>
      cleanEnv({ DATABASE_URL: url, PGDRILL_STORAGE: storageDir, PGDRILL_ENCRYPTION_KEYS: `${key.id}:${key.base64}` });
    const pgDump = path.join(PG_BIN, 'pg_dump');

    // Roles for the raw restore baseline (its archive's owners and grants need them).
    const rolesFile = path.join(work, 'roles.sql');
    await execa(path.join(PG_BIN, 'pg_dumpall'), ['--roles-only', '--no-role-passwords', '--no-password', `--file=${rolesFile}`], { env: pgEnv, extendEnv: false });

    const runA = async (file: string) => {
      const { ms } = await timed(() => execa(pgDump, ['--format=custom', '--compress=0', '--no-password', `--file=${file}`], { env: pgEnv, extendEnv: false, stdin: 'ignore' }));
      return ms;
    };
    const runB = async (file: string) => {
      const { ms } = await timed(async () => {
        await execa(pgDump, ['--format=plain', '--no-password'], { env: pgEnv, extendEnv: false, stdin: 'ignore', buffer: false })
          .pipe(GZIP, ['-6'], { stdout: { file }, buffer: false, extendEnv: false, env: cleanEnv() });
      });
      return ms;
    };
    const runC = async (storageDir: string) => {
      const run = await runNodeMeasured({ nodeArgs: CLI_NODE_ARGS, script: CLI, args: ['backup', '--json'], env: cliEnv(storageDir), cwd: work, rssFile: path.join(work, 'rss') });
      if (run.exitCode !== 0) throw new Error(`pgdrill backup failed (exit ${run.exitCode}): ${run.stderr.trim().split('\n').slice(-5).join(' | ')}`);
      return { run, manifest: BackupManifest.parse(JSON.parse(run.stdout)) };
    };

    // Warm-up, untimed: the same pages for every contestant from the first timed round on. The
    // warm-up backup also takes the month's first-backup promotion (a full copy of the dump into
    // monthly/), so the timed runs are ordinary daily backups, as on every other day.
    const storageDir = path.join(work, 'storage');
    log(`${label}: warm-up dump and backup (untimed)`);
    await runA(path.join(work, 'warmup.dump'));
    await rm(path.join(work, 'warmup.dump'), { force: true });
    await runC(storageDir);

    const archive = path.join(work, 'raw.dump');
    let lastManifest: BackupManifest | undefined;
    for (let round = 0; round < reps; round++) {
      // `backup --help` loads what `backup` loads (its command group) and exits: the module floor.
      const startup = await runNodeMeasured({ nodeArgs: CLI_NODE_ARGS, script: CLI, args: ['backup', '--help'], env: cleanEnv(), cwd: work, rssFile: path.join(work, 'rss') });
      if (startup.exitCode !== 0) throw new Error(`pgdrill backup --help failed: ${startup.stderr.trim()}`);
      result.cliStartup.push(startup.wallMs);
      result.cliStartupRss.push(startup.peakRssKiB);
      for (const contestant of rotate(['A', 'B', 'C'] as const, round)) {
        if (contestant === 'A') {
          await rm(archive, { force: true });
          result.a.push(await runA(archive));
          result.rawDumpBytes = (await stat(archive)).size;
          log(`${label} round ${round + 1}: A pg_dump -Fc -Z0 ${fmtSeconds(result.a.at(-1)!)} (${fmtMB(result.rawDumpBytes)})`);
        } else if (contestant === 'B') {
          const file = path.join(work, 'seed.sql.gz');
          result.b.push(await runB(file));
          result.gzipBytes = (await stat(file)).size;
          await rm(file, { force: true });
          log(`${label} round ${round + 1}: B pg_dump | gzip -6 ${fmtSeconds(result.b.at(-1)!)} (${fmtMB(result.gzipBytes)})`);
        } else {
          const { run, manifest } = await runC(storageDir);
          result.c.push(run.wallMs);
          result.cInner.push(manifest.durationMs);
          result.cRss.push(run.peakRssKiB);
          result.cRssHook.push(run.hookRssKiB);
          result.cRssPolled.push(run.polledRssKiB);
          result.cCpu.push(run.cpuMs);
          result.storedBytes = manifest.objects.dump.size;
          result.plaintextBytes = manifest.objects.dump.plaintextSize;
          lastManifest = manifest;
          log(
            `${label} round ${round + 1}: C pgdrill backup ${fmtSeconds(run.wallMs)} (in-process ${fmtSeconds(manifest.durationMs)}), ` +
              `Node CPU ${fmtSeconds(run.cpuMs)}, peak RSS ${fmtMB(run.peakRssKiB * KIB)} (exit hook ${fmtMB(run.hookRssKiB * KIB)}, polled ${fmtMB(run.polledRssKiB * KIB)}), ` +
              `stored ${fmtMB(manifest.objects.dump.size)} of ${fmtMB(manifest.objects.dump.plaintextSize)}`,
          );
        }
      }
    }

    // The source is no longer needed: stop it so the restores have the machine to themselves.
    await source.stop();
    source = undefined;

    if (withRestore && lastManifest) {
      const expected = lastManifest.tables.filter((t) => t.schema === 'public' && ['respondents', 'audit_logs'].includes(t.name));
      for (let round = 0; round < reps; round++) {
        for (const contestant of rotate(['R0', 'R1'] as const, round)) {
          if (contestant === 'R0') {
            const ms = await restoreBaseline(archive, rolesFile, expected);
            result.r0.push(ms);
            log(`${label} round ${round + 1}: R0 pg_restore -j2 ${fmtSeconds(ms)}`);
          } else {
            const run = await runNodeMeasured({
              nodeArgs: CLI_NODE_ARGS,
              script: RESTORE_CANDIDATE,
              args: [],
              env: cleanEnv({ PGDRILL_STORAGE: storageDir, PGDRILL_ENCRYPTION_KEYS: `${key.id}:${key.base64}`, PGDRILL_BENCH_BACKUP_ID: lastManifest.id }),
              cwd: work,
              rssFile: path.join(work, 'rss'),
            });
            if (run.exitCode !== 0) throw new Error(`restore candidate failed (exit ${run.exitCode}): ${run.stderr.trim().split('\n').slice(-8).join(' | ')}`);
            const out = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { totalMs: number; downloadMs: number; decryptMs: number; restoreMs: number; pgRestoreMs: number; mismatches: string[] };
            if (out.mismatches.length > 0) throw new Error(`restore candidate: counts differ from the manifest: ${out.mismatches.join('; ')}`);
            result.r1.push(out.totalMs);
            result.r1Rss.push(run.peakRssKiB);
            result.r1Cpu.push(run.cpuMs);
            result.r1Download.push(out.downloadMs);
            result.r1Decrypt.push(out.decryptMs);
            result.r1Restore.push(out.restoreMs);
            result.r1PgRestore.push(out.pgRestoreMs);
            log(
              `${label} round ${round + 1}: R1 fetch+restore ${fmtSeconds(out.totalMs)} (download ${fmtSeconds(out.downloadMs)}, ` +
                `decrypt+decompress ${fmtSeconds(out.decryptMs)}, restore ${fmtSeconds(out.restoreMs)} of which pg_restore ${fmtSeconds(out.pgRestoreMs)}), Node CPU ${fmtSeconds(run.cpuMs)}, peak RSS ${fmtMB(run.peakRssKiB * KIB)}`,
            );
          }
        }
      }
    }
    result.loadAvgEnd = os.loadavg();
    return result;
  } finally {
    if (source) await source.stop().catch((error: unknown) => log(`could not stop the source sandbox: ${String(error)}`));
    await rm(work, { recursive: true, force: true });
    workDirs.delete(work);
  }
}

/** Fresh embedded sandbox (untimed), roles (untimed), then timed `pg_restore --jobs=2`; returns ms. */
async function restoreBaseline(archive: string, rolesFile: string, expected: ReadonlyArray<{ schema: string; name: string; rows: number }>): Promise<number> {
  const sandbox = await startEmbeddedSandbox({ major: MAJOR, database: 'restore' });
  try {
    const client = new pg.Client({ connectionString: sandbox.connectionUri('restore') });
    await client.connect();
    try {
      const existing = new Set((await client.query<{ rolname: string }>('SELECT rolname FROM pg_roles')).rows.map((r) => r.rolname));
      const filtered = path.join(path.dirname(rolesFile), 'roles.filtered.sql');
      await writeFile(filtered, filterGlobals(await readFile(rolesFile, 'utf8'), existing), { mode: 0o600 });
      await sandbox.psqlFile(filtered);
      // The same pg_restore invocation restoreFetched makes (pgRestoreArgs with jobs 2).
      const { ms } = await timed(() => sandbox.pgRestore(archive, ['--no-password', '--jobs=2']));
      for (const t of expected) {
        const n = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${t.schema}"."${t.name}"`)).rows[0]?.n);
        if (n !== t.rows) throw new Error(`raw restore: ${t.schema}.${t.name} has ${n} rows, expected ${t.rows}`);
      }
      return ms;
    } finally {
      await client.end();
    }
  } finally {
    await sandbox.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Report

interface Verdict {
  ok: boolean;
  applies: boolean;
  text: string;
}

const runsText = (values: readonly number[], format: (v: number) => string): string => values.map(format).join(' / ');
const secs = (ms: number): string => (ms / 1000).toFixed(ms < 10_000 ? 2 : 1);
const paired = (num: readonly number[], den: readonly number[]): number[] => num.map((n, i) => n / den[i]!);
const mbOfKiB = (kib: number): number => (kib * KIB) / MB;

function verdict(ok: boolean, applies = true, note = ''): Verdict {
  return { ok, applies, text: applies ? (ok ? 'PASS' : '**MISSED**') : `${ok ? 'within' : 'over'}${note ? ` (${note})` : ''}` };
}

function buildReport(results: readonly SizeResult[]): { table: string; details: string; missed: string[] } {
  const missed: string[] = [];
  const lines = ['| size | measurement | median | runs | target | result |', '| --- | --- | ---: | --- | --- | --- |'];
  const row = (...cells: string[]) => lines.push(`| ${cells.join(' | ')} |`);
  const judge = (size: string, what: string, value: string, target: string, v: Verdict): string => {
    if (v.applies && !v.ok) missed.push(`MISSED: ${size} ${what} = ${value} (target ${target})`);
    return v.text;
  };
  for (const r of results) {
    const s = r.label;
    const [a, b, c] = [median(r.a), median(r.b), median(r.c)];
    row(s, 'A: `pg_dump -Fc -Z0 -f file`', `${secs(a)} s`, runsText(r.a, secs), '', '');
    row(s, 'B: `pg_dump -Fp \\| gzip -6` (seed)', `${secs(b)} s`, runsText(r.b, secs), '', '');
    row(s, 'C: `pgdrill backup` to a folder (CLI, wall)', `${secs(c)} s`, runsText(r.c, secs), '', '');
    const ca = c / a;
    row(s, '**C / A**', fmtRatio(ca), `paired ${runsText(paired(r.c, r.a), (x) => x.toFixed(2))}`, `≤ ${TARGETS.backupVsRaw}×`,
      judge(s, 'backup C/A', fmtRatio(ca), `≤ ${TARGETS.backupVsRaw}×`, verdict(ca <= TARGETS.backupVsRaw)));
    const bc = b / c;
    row(s, '**B / C**', fmtRatio(bc), `paired ${runsText(paired(r.b, r.c), (x) => x.toFixed(2))}`, `≥ ${TARGETS.gzipVsBackup}×`,
      judge(s, 'backup B/C', fmtRatio(bc), `≥ ${TARGETS.gzipVsBackup}×`, verdict(bc >= TARGETS.gzipVsBackup)));
    const rss = Math.max(...r.cRss.map(mbOfKiB));
    row(s, '**C peak RSS** (max of runs)', `${rss.toFixed(1)} MB`, runsText(r.cRss.map(mbOfKiB), (x) => x.toFixed(1)), `< ${TARGETS.backupRssMB} MB`,
      judge(s, 'backup peak RSS', `${rss.toFixed(1)} MB`, `< ${TARGETS.backupRssMB} MB`, verdict(rss < TARGETS.backupRssMB)));
    if (r.r0.length > 0) {
      const [r0, r1] = [median(r.r0), median(r.r1)];
      row(s, 'R0: `pg_restore -j2` of A\'s archive (local file)', `${secs(r0)} s`, runsText(r.r0, secs), '', '');
      row(s, 'R1: fetch + verify + decrypt + decompress + restore -j2', `${secs(r1)} s`, runsText(r.r1, secs), '', '');
      const ratio = r1 / r0;
      const applies = r.targetBytes >= TARGETS.restoreTargetFromBytes;
      row(s, '**R1 / R0**', fmtRatio(ratio), `paired ${runsText(paired(r.r1, r.r0), (x) => x.toFixed(2))}`, `≤ ${TARGETS.restoreVsRaw}×${applies ? '' : ' (at 1 GB)'}`,
        judge(s, 'restore R1/R0', fmtRatio(ratio), `≤ ${TARGETS.restoreVsRaw}×`, verdict(ratio <= TARGETS.restoreVsRaw, applies, 'target is for 1 GB')));
      const rrss = Math.max(...r.r1Rss.map(mbOfKiB));
      row(s, 'R1 peak RSS (max of runs)', `${rrss.toFixed(1)} MB`, runsText(r.r1Rss.map(mbOfKiB), (x) => x.toFixed(1)), '', '');
    }
  }
  if (results.length > 1) {
    const bySize = [...results].sort((x, y) => x.targetBytes - y.targetBytes);
    const small = Math.max(...bySize[0]!.cRss.map(mbOfKiB));
    const large = Math.max(...bySize.at(-1)!.cRss.map(mbOfKiB));
    const growth = large - small;
    row(`${bySize[0]!.label} → ${bySize.at(-1)!.label}`, 'C peak RSS growth with size', `${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MB`, `${small.toFixed(1)} → ${large.toFixed(1)}`,
      `< +${TARGETS.rssGrowthMB} MB`, judge('all sizes', 'peak RSS growth', `${growth.toFixed(1)} MB`, `< +${TARGETS.rssGrowthMB} MB`, verdict(growth < TARGETS.rssGrowthMB)));
  }

  const details: string[] = ['| size | where the time goes (medians) |', '| --- | --- |'];
  for (const r of results) {
    const c = median(r.c);
    const inner = median(r.cInner);
    details.push(
      `| ${r.label} | fixture ${r.rows.toLocaleString('en')} respondents, pg_database_size ${fmtMB(r.dbBytes)} (loaded in ${fmtSeconds(r.loadMs)}); ` +
        `A archive ${fmtMB(r.rawDumpBytes)}, B .sql.gz ${fmtMB(r.gzipBytes)}, C stored ${fmtMB(r.storedBytes)} (plaintext ${fmtMB(r.plaintextBytes)}, ` +
        `${(r.plaintextBytes / r.storedBytes).toFixed(1)}:1) |`,
    );
    details.push(
      `| ${r.label} | C: Node start + module graph (\`pgdrill backup --help\`) ${fmtSeconds(median(r.cliStartup))} and ${fmtMB(median(r.cliStartupRss) * KIB)} RSS; inside the CLI (manifest durationMs: ` +
        `snapshot, pg_dump → zstd → AES-GCM → folder, counts, globals) ${fmtSeconds(inner)}; rest of the wall time (start, connect, lock, manifest, retention, exit) ` +
        `${fmtSeconds(c - inner)}. C − A = ${fmtSeconds(c - median(r.a))}. CPU of C's Node process (user + system, pg_dump excluded) ${fmtSeconds(median(r.cCpu))}, ` +
        `${((median(r.cCpu) / 1000) / (r.plaintextBytes / 1e9)).toFixed(1)} s per GB of dump |`,
    );
    if (r.r1.length > 0) {
      details.push(
        `| ${r.label} | R1: download + SHA-256 ${fmtSeconds(median(r.r1Download))}, decrypt + decompress + SHA-256 ${fmtSeconds(median(r.r1Decrypt))}, ` +
          `globals + pg_restore -j2 ${fmtSeconds(median(r.r1Restore))}, of which pg_restore -j2 alone ${fmtSeconds(median(r.r1PgRestore))} (R0 ${fmtSeconds(median(r.r0))}); Node CPU ${fmtSeconds(median(r.r1Cpu))} |`,
      );
    }
    details.push(
      `| ${r.label} | C peak RSS sources (KiB → MB): exit-hook ru_maxrss ${runsText(r.cRssHook.map(mbOfKiB), (x) => x.toFixed(1))}; ` +
        `VmHWM polled every 50 ms ${runsText(r.cRssPolled.map(mbOfKiB), (x) => x.toFixed(1))} |`,
    );
    details.push(`| ${r.label} | load average 1/5/15 min: start ${r.loadAvgStart.map((x) => x.toFixed(2)).join(' / ')}, end ${r.loadAvgEnd.map((x) => x.toFixed(2)).join(' / ')} |`);
  }
  return { table: lines.join('\n'), details: details.join('\n'), missed };
}

const METHOD = `# Benchmarks

Produced by \`pnpm bench\` (\`scripts/bench.ts\`); each run appends a section below. Targets:
issue 4 item 10 (backup) and issue 5 item 2 (restore).

## Method

- **Source**: an embedded PostgreSQL 15 sandbox (the product's \`startEmbeddedSandbox\`, fsync off)
  loaded with the OSLRS fixture (\`fixtures/\`) sized by \`pg_database_size\` (\`--size\`), then
  \`VACUUM (FREEZE, ANALYZE)\` + \`CHECKPOINT\` and one untimed warm-up dump, so every timed run
  reads the same warm pages.
- **Backup**, \`--reps\` rounds, the order rotated every round (A B C, B C A, C A B) so that no
  contestant always runs first or last on a shared, noisy machine:
  - **A** raw \`pg_dump -Fc -Z0 -f file\` (same server, same \`/usr/lib/postgresql/15/bin/pg_dump\`),
  - **B** the seed's \`pg_dump -Fp | gzip -6\`: two execa processes joined by a pipe, no shell,
  - **C** the real CLI \`bin/pgdrill.js backup --json\` into a local folder, as a child process
    on the same Node binary with the Node options of the CLI's own shebang line (what running
    \`pgdrill\` adds, e.g. \`--max-semi-space-size=1\`): wall time from spawn to exit (Node start-up, connect, snapshot, pg_dump → SHA-256 →
    zstd 3 → AES-256-GCM → SHA-256 → fsynced file, counts, globals, manifest, retention). An
    untimed warm-up backup into the same folder takes the month's first-backup promotion (a full
    copy into \`monthly/\`), so the timed runs are ordinary daily backups.
    **Peak RSS** of that Node process: the larger of its own \`process.resourceUsage().maxRSS\`
    written at exit by a preloaded hook (\`scripts/bench/rss-hook.ts\`) and \`VmHWM\` from
    \`/proc/<pid>/status\` sampled every 50 ms. pg_dump's own memory is not included.
- **Restore**, same rounds, order rotated, each into a **fresh embedded sandbox** (start-up untimed):
  - **R0** raw \`pg_restore --no-password --jobs=2\` of A's archive from a local file (the roles it
    references are created first, untimed),
  - **R1** \`fetchBackup\` (copy out of the folder + SHA-256, decrypt + decompress + SHA-256 to a
    local file) + \`restoreFetched\` (globals via psql, then the same \`pg_restore --jobs=2\`) of C's
    backup, in a child process (\`scripts/bench/restore-candidate.ts\`, same Node options as the
    CLI) whose peak RSS and CPU are measured the same way.
  Both restores are checked against the manifest's row counts (untimed).
- Figures are **medians**; ratios are ratios of medians, with the per-round paired ratios beside
  them. Absolute times on this shared machine mean little; ratios within a run are the figures.
  MB = 10^6 bytes. A missed target prints MISSED; the script still exits 0.
`;

/** `git` commit of the measured code, `+changes` when src/, bin/, fixtures/ or package.json differ from it. */
async function codeVersion(): Promise<string> {
  const head = await execa('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, reject: false });
  if (head.exitCode !== 0) return 'unknown (not a git checkout)';
  const dirty = await execa('git', ['status', '--porcelain', '--', 'src', 'bin', 'fixtures', 'package.json'], { cwd: ROOT, reject: false });
  return `commit ${String(head.stdout).trim()}${String(dirty.stdout).trim() ? ' + uncommitted changes in src/bin/fixtures' : ''}`;
}

async function appendDocs(report: { table: string; details: string; missed: string[] }, results: readonly SizeResult[]): Promise<void> {
  await mkdir(path.dirname(DOCS), { recursive: true });
  if (!existsSync(DOCS)) await writeFile(DOCS, METHOD);
  const cpus = os.cpus();
  const pgVersion = (await execa(path.join(PG_BIN, 'postgres'), ['--version'], { reject: false })).stdout.trim();
  const code = await codeVersion();
  const now = new Date();
  const section = [
    '',
    `## ${now.toISOString().slice(0, 16).replace('T', ' ')} UTC — \`pnpm bench --size ${results.map((r) => r.label).join(',')} --reps ${reps}\``,
    '',
    `Machine: ${cpus.length} × ${cpus[0]?.model?.trim() ?? 'CPU'}, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}; ` +
      `Node ${process.version}; ${pgVersion}. Load average (1/5/15 min) at start ${results[0]!.loadAvgStart.map((x) => x.toFixed(2)).join(' / ')}, ` +
      `at end ${results.at(-1)!.loadAvgEnd.map((x) => x.toFixed(2)).join(' / ')} (shared machine: other jobs were running). ` +
      `Code: ${code}; CLI Node options: ${CLI_NODE_ARGS.length > 0 ? CLI_NODE_ARGS.map((a) => `\`${a}\``).join(' ') : 'none'}.`,
    '',
    report.table,
    '',
    report.details,
    '',
    report.missed.length > 0 ? report.missed.map((m) => `- ${m}`).join('\n') : 'All targets met.',
    '',
  ].join('\n');
  await appendFile(DOCS, section);
}

// ---------------------------------------------------------------------------------------------

if (flags.api) {
  const { benchApi } = await import('./bench/api.ts');
  const result = await benchApi({ backups: Number(flags.backups), requests: Number(flags.requests), log });
  process.stdout.write(`\n${result.table}\n`);
  if (!flags['no-docs']) {
    const cpus = os.cpus();
    await appendFile(
      DOCS,
      [
        '',
        `## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — \`pnpm bench --api --backups ${result.backups} --requests ${result.requests}\``,
        '',
        `Admin API over a folder store of ${result.backups} manifests (scripts/bench/api.ts). Machine: ${cpus.length} × ${cpus[0]?.model?.trim() ?? 'CPU'}; Node ${process.version}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' / ')} (shared machine). Code: ${await codeVersion()}.`,
        '',
        result.table,
        '',
      ].join('\n'),
    );
    log(`appended to ${path.relative(ROOT, DOCS)}`);
  }
  process.exit(0);
}

const results: SizeResult[] = [];
log(`measuring ${await codeVersion()}; CLI Node options: ${CLI_NODE_ARGS.join(' ') || 'none'}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' / ')}`);
try {
  for (const { label, bytes } of sizes) results.push(await benchSize(label, bytes));
} catch (error) {
  // execa errors carry the captured output in .message: keep the short form.
  const text = error instanceof Error ? ((error as { shortMessage?: string }).shortMessage ?? error.stack ?? error.message) : String(error);
  log(`failed: ${text.slice(0, 4000)}`);
  await stopAllSandboxes().catch(() => undefined);
  process.exit(1);
}
const report = buildReport(results);
process.stdout.write(`\n${report.table}\n\n${report.details}\n\n`);
if (report.missed.length > 0) process.stdout.write(`${report.missed.join('\n')}\n`);
else process.stdout.write('All targets met.\n');
if (!flags['no-docs']) {
  await appendDocs(report, results);
  log(`appended to ${path.relative(ROOT, DOCS)}`);
}
