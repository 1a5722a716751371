// `pnpm bench [--size 50MB,300MB,1GB] [--reps 3] [--quick] [--form package|source] [--no-restore] [--no-s3] [--no-docs]`
// `pnpm bench --api [--backups 10000] [--requests 200] [--no-docs]`: the admin API and page instead (scripts/bench/api.ts)
//
// Backup and restore benchmark of pgdrill against raw PostgreSQL tools on the same server, same
// binaries, same machine, in the same run (issue 13; earlier issue 4 item 10, issue 5 item 2). Per size:
//   1. an embedded PostgreSQL 15 sandbox is loaded with the OSLRS fixture and VACUUM FREEZE'd;
//   2. backup, `reps` rounds, the order rotated each round (A B C S, B C S A, …):
//        A  raw `pg_dump -Fc -Z0 -f file`,
//        B  the seed's `pg_dump -Fp | gzip -6` (two processes joined by a pipe, no shell; no target),
//        C  the real CLI, `pgdrill backup` into a local folder, as a child process with the CLI's
//           shebang Node options: wall time from spawn to exit, peak RSS and CPU of the Node
//           process. By default the built package (`pnpm build` runs first; dist/bin/pgdrill.js,
//           what an installed pgdrill runs); `--form source` measures bin/pgdrill.js, whose
//           TypeScript Node strips at every start (~0.5 s and ~30 MB more),
//        S  the same CLI backup into s3rver on 127.0.0.1 (default part size);
//      and once per round `pgdrill backup --help` (Node start + the backup command's modules) and
//      its floor, scripts/bench/library-floor.js (Node + the libraries a backup needs, no pgdrill;
//      bundled like the CLI when the package is measured);
//   3. uploads, `reps` rounds rotated, of C's stored dump object into s3rver, each in a child process:
//        U  pgdrill's storage put (streamed, no length, as a backup puts it),
//        P  one plain PutObject of the same bytes;
//   4. restore, `reps` rounds, order rotated, each into a fresh embedded sandbox (start untimed):
//        R0 raw `pg_restore --jobs=2` of A's archive from a local file (roles created untimed first),
//        R1 fetchBackup + restoreFetched (jobs 2) of C's backup, in a child process (peak RSS),
//           from the same form of the library as C (the package's bundled like its CLI:
//           scripts/bench/restore-library.js);
//   5. medians, ratios of medians (and per-round paired ratios), targets → a Markdown table on
//      stdout, appended to docs/benchmarks.md.
// Exit status: 0 when every run completed, whether or not the targets were met (a missed target
// prints MISSED: on a shared machine a figure can miss by noise, and CI runs `--quick` to show
// regressions, not to gate on them); 1 when a run failed (a backup or restore erred, counts differ).
// `--quick`: 50 MB, one round, nothing appended to the docs. Progress goes to stderr. Everything
// (sandboxes, s3rver, temp dirs) is removed at the end, on error and on Ctrl-C.
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
import { startS3Server, type StartedS3Server } from '../test/helpers/s3.ts';
import { appendBenchSection, buildPackage, cleanEnv, scriptInForm, codeVersion, fmtMB, fmtRatio, fmtSeconds, KIB, MB, median, PACKAGE_CLI, rotate, runNodeMeasured, shebangNodeArgs, SOURCE_CLI, timed, type MeasuredRun } from './bench/measure.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LIBRARY_FLOOR = path.join(ROOT, 'scripts', 'bench', 'library-floor.js');
/** LIBRARY_FLOOR in the measured form (bundled for the package). */
let libraryFloor = LIBRARY_FLOOR;
const RESTORE_CANDIDATE = path.join(ROOT, 'scripts', 'bench', 'restore-candidate.js');
/** The library the restore candidate uses in the package form (scriptInForm bundles it). */
const RESTORE_LIBRARY = path.join(ROOT, 'scripts', 'bench', 'restore-library.js');
let restoreLibrary = RESTORE_LIBRARY;
const S3_UPLOAD = path.join(ROOT, 'scripts', 'bench', 's3-upload.ts');
const DOCS = path.join(ROOT, 'docs', 'benchmarks.md');
const MAJOR = 15;
const PG_BIN = `/usr/lib/postgresql/${MAJOR}/bin`;
const GZIP = existsSync('/usr/bin/gzip') ? '/usr/bin/gzip' : 'gzip';
/**
 * The Node options the CLI runs with when started as a program (`pgdrill …`, its shebang line; the
 * package.json scripts pass the same): every Node child runs with them, on this Node binary.
 */
const CLI_NODE_ARGS = shebangNodeArgs(await readFile(SOURCE_CLI, 'utf8'));
/** What the figures measure: uncommitted changes here are named in the docs. */
const CODE_PATHS = ['src', 'bin', 'fixtures'];

/** Issue 13's targets, and the smallest fixture each is judged at (smaller ones show the figure only). */
const FROM_100MB = { from: parseSize('100MB'), fromLabel: '100MB' };
const FROM_300MB = { from: parseSize('300MB'), fromLabel: '300MB' };
const ALWAYS = { from: 0, fromLabel: '' };
const TARGETS = {
  backupVsRaw: { max: 1.25, ...FROM_300MB }, // C / A
  startupSeconds: { max: 0.25, ...ALWAYS }, // `pgdrill backup --help` wall
  startupRssMB: { max: 60, ...ALWAYS },
  outsideSeconds: { max: 0.3, ...FROM_300MB }, // C wall − in-process (manifest durationMs)
  cpuSecondsPerGB: { max: 8, ...ALWAYS }, // C's Node CPU / GB of dump
  backupRssMB: { max: 150, ...ALWAYS }, // C and S peak RSS
  rssGrowthMB: 20, // C's peak RSS may not grow by more than this from the smallest to the largest size
  restoreVsRaw: { max: 1.2, ...FROM_100MB }, // R1 / R0
  restoreRssMB: { max: 150, ...FROM_300MB }, // R1 peak RSS
};

// ---------------------------------------------------------------------------------------------
// Arguments

const { values: flags } = parseArgs({
  options: {
    size: { type: 'string' },
    reps: { type: 'string' },
    quick: { type: 'boolean', default: false },
    form: { type: 'string', default: 'package' },
    'no-restore': { type: 'boolean', default: false },
    'no-s3': { type: 'boolean', default: false },
    'no-docs': { type: 'boolean', default: false },
    api: { type: 'boolean', default: false },
    backups: { type: 'string', default: '10000' },
    requests: { type: 'string', default: '200' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  allowPositionals: false,
});
if (flags.help) {
  process.stdout.write(`usage: pnpm bench [--size 50MB,300MB,1GB] [--reps N] [--quick] [--no-restore] [--no-s3] [--no-docs]
  --size     fixture size(s), comma-separated (pg_database_size target; default 50MB,300MB,1GB; 1GB takes minutes)
  --reps     rounds per measurement, order rotated each round (default 3; medians of all rounds)
  --quick    50MB, one round, nothing appended to docs/benchmarks.md (what CI runs)
  --form     package (default: \`pnpm build\` first, then dist/bin/pgdrill.js, what an installed pgdrill runs)
             or source (bin/pgdrill.js: Node strips the TypeScript at every start)
  --no-restore  skip the restore part
  --no-s3    skip the s3rver backup and uploads
  --no-docs  do not append the results to docs/benchmarks.md
  --api      benchmark the admin API and page instead: --backups N manifests (default 10000), --requests N (default 200)
Exits 0 when every run completed, whether or not the targets were met (MISSED is printed); 1 when a run failed.
`);
  process.exit(0);
}
if (flags.quick && (flags.size !== undefined || flags.reps !== undefined)) throw new Error('--quick sets --size 50MB and --reps 1; give one or the other');
const sizeList = flags.quick ? '50MB' : (flags.size ?? '50MB,300MB,1GB');
const sizes = sizeList.split(',').map((s) => s.trim()).filter(Boolean).map((label) => ({ label, bytes: parseSize(label) }));
const reps = flags.quick ? 1 : Number(flags.reps ?? '3');
if (!Number.isInteger(reps) || reps < 1 || reps > 50) throw new Error(`--reps must be a whole number 1…50, got ${flags.reps}`);
if (flags.form !== 'package' && flags.form !== 'source') throw new Error(`--form must be package or source, got ${flags.form}`);
const form = flags.form;
/** The CLI measured: the built package or the source checkout. */
const CLI = form === 'package' ? PACKAGE_CLI : SOURCE_CLI;
const FORM_TEXT = { package: 'the built package (dist/bin/pgdrill.js running its bundle dist/cli; the restore candidate from dist/src bundled the same way)', source: 'the source checkout (bin/pgdrill.js, src/ through type stripping)' } as const;
const withRestore = !flags['no-restore'];
const withS3 = !flags['no-s3'];
const writeDocs = !flags['no-docs'] && !flags.quick;
const commandLine = `pnpm bench ${process.argv.slice(2).join(' ')}`.trim();

const log = (line: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

// ---------------------------------------------------------------------------------------------
// Cleanup: our temp dirs, s3rver and every sandbox, also on Ctrl-C / SIGTERM.

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

let s3: StartedS3Server | undefined;
if (withS3) {
  s3 = await startS3Server();
  const directory = s3.directory;
  const server = s3;
  registerCleanup({
    kind: 'S3 emulator',
    label: `s3rver ${server.endpoint}`,
    run: () => server.stop(),
    runSync: () => rmSync(directory, { recursive: true, force: true }),
  });
}

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
  /** `pgdrill backup --help`: Node start + the backup command's module graph (wall ms, peak RSS KiB, CPU ms). */
  cliStartup: number[];
  cliStartupRss: number[];
  cliStartupCpu: number[];
  /** scripts/bench/library-floor.js: Node + commander, zod, pg, execa and nothing of pgdrill (wall ms, peak RSS KiB). */
  libraryFloor: number[];
  libraryFloorRss: number[];
  libraryFloorCpu: number[];
  /** S: the CLI backup into s3rver (wall ms, in-process ms, peak RSS KiB, CPU ms). */
  s: number[];
  sInner: number[];
  sRss: number[];
  sCpu: number[];
  /** U and P: uploads of C's stored dump object into s3rver (upload ms, peak RSS KiB). */
  u: number[];
  uRss: number[];
  p: number[];
  pRss: number[];
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

/** The CLI's backup run, its manifest parsed from `--json`; throws with the CLI's last lines when it failed. */
async function runCliBackup(env: Record<string, string>, cwd: string): Promise<{ run: MeasuredRun; manifest: BackupManifest }> {
  const run = await runNodeMeasured({ nodeArgs: CLI_NODE_ARGS, script: CLI, args: ['backup', '--json'], env, cwd, rssFile: path.join(cwd, 'rss') });
  if (run.exitCode !== 0) throw new Error(`pgdrill backup failed (exit ${run.exitCode}): ${run.stderr.trim().split('\n').slice(-5).join(' | ')}`);
  return { run, manifest: BackupManifest.parse(JSON.parse(run.stdout)) };
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
    a: [], b: [], c: [], cInner: [], cRss: [], cRssHook: [], cRssPolled: [], cCpu: [], cliStartup: [], cliStartupRss: [], cliStartupCpu: [], libraryFloor: [], libraryFloorRss: [], libraryFloorCpu: [],
    s: [], sInner: [], sRss: [], sCpu: [], u: [], uRss: [], p: [], pRss: [],
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
    const keys = `${key.id}:${key.base64}`;
    const s3Env = (location: string): Record<string, string> =>
      s3
        ? {
            PGDRILL_STORAGE: location,
            S3_ENDPOINT: s3.endpoint,
            S3_REGION: s3.region,
            S3_ACCESS_KEY: s3.credentials.accessKeyId,
            S3_SECRET_KEY: s3.credentials.secretAccessKey,
            S3_FORCE_PATH_STYLE: 'true',
          }
        : {};
    // Each size backs up into its own prefix of the one bucket.
    const s3Location = s3 ? `s3://${s3.bucket}/bench-${label.toLowerCase()}` : '';
    const cliEnv = (storage: Record<string, string>) => cleanEnv({ DATABASE_URL: url, PGDRILL_ENCRYPTION_KEYS: keys, ...storage });
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

    // Warm-up, untimed: the same pages for every contestant from the first timed round on. The
    // warm-up backups also take the month's first-backup promotion (a full copy of the dump into
    // monthly/), so the timed runs are ordinary daily backups, as on every other day.
    const storageDir = path.join(work, 'storage');
    log(`${label}: warm-up dump and backup${s3 ? 's' : ''} (untimed)`);
    await runA(path.join(work, 'warmup.dump'));
    await rm(path.join(work, 'warmup.dump'), { force: true });
    await runCliBackup(cliEnv({ PGDRILL_STORAGE: storageDir }), work);
    if (s3) await runCliBackup(cliEnv(s3Env(s3Location)), work);

    const archive = path.join(work, 'raw.dump');
    let lastManifest: BackupManifest | undefined;
    const contestants = s3 ? (['A', 'B', 'C', 'S'] as const) : (['A', 'B', 'C'] as const);
    for (let round = 0; round < reps; round++) {
      // `backup --help` loads what `backup` loads at start (its command group; execa follows at the
      // first spawn) and exits; beside it the floor: Node with the libraries a backup needs.
      const startup = await runNodeMeasured({ nodeArgs: CLI_NODE_ARGS, script: CLI, args: ['backup', '--help'], env: cleanEnv(), cwd: work, rssFile: path.join(work, 'rss') });
      if (startup.exitCode !== 0) throw new Error(`pgdrill backup --help failed: ${startup.stderr.trim()}`);
      result.cliStartup.push(startup.wallMs);
      result.cliStartupRss.push(startup.peakRssKiB);
      result.cliStartupCpu.push(startup.cpuMs);
      const floor = await runNodeMeasured({ nodeArgs: CLI_NODE_ARGS, script: libraryFloor, args: [], env: cleanEnv(), cwd: work, rssFile: path.join(work, 'rss') });
      if (floor.exitCode !== 0) throw new Error(`the library floor failed: ${floor.stderr.trim()}`);
      result.libraryFloor.push(floor.wallMs);
      result.libraryFloorRss.push(floor.peakRssKiB);
      result.libraryFloorCpu.push(floor.cpuMs);
      for (const contestant of rotate(contestants, round)) {
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
        } else if (contestant === 'C') {
          const { run, manifest } = await runCliBackup(cliEnv({ PGDRILL_STORAGE: storageDir }), work);
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
        } else {
          const { run, manifest } = await runCliBackup(cliEnv(s3Env(s3Location)), work);
          result.s.push(run.wallMs);
          result.sInner.push(manifest.durationMs);
          result.sRss.push(run.peakRssKiB);
          result.sCpu.push(run.cpuMs);
          log(`${label} round ${round + 1}: S pgdrill backup into s3rver ${fmtSeconds(run.wallMs)} (in-process ${fmtSeconds(manifest.durationMs)}), Node CPU ${fmtSeconds(run.cpuMs)}, peak RSS ${fmtMB(run.peakRssKiB * KIB)}`);
        }
      }
    }

    // The source is no longer needed: stop it so the uploads and restores have the machine to themselves.
    await source.stop();
    source = undefined;

    if (s3 && lastManifest) {
      const stored = path.join(storageDir, ...lastManifest.objects.dump.key.split('/'));
      for (let round = 0; round < reps; round++) {
        for (const mode of rotate(['pgdrill', 'putobject'] as const, round)) {
          const run = await runNodeMeasured({
            nodeArgs: CLI_NODE_ARGS,
            script: S3_UPLOAD,
            args: [mode],
            env: cleanEnv({
              ...s3Env(`s3://${s3.bucket}/bench-upload`),
              PGDRILL_BENCH_FILE: stored,
              PGDRILL_BENCH_KEY: `bench-upload/${mode}.bin`,
              PGDRILL_BENCH_BUCKET: s3.bucket,
            }),
            cwd: work,
            rssFile: path.join(work, 'rss'),
          });
          if (run.exitCode !== 0) throw new Error(`${mode} upload failed (exit ${run.exitCode}): ${run.stderr.trim().split('\n').slice(-5).join(' | ')}`);
          const out = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { ms: number; bytes: number };
          if (out.bytes !== lastManifest.objects.dump.size) throw new Error(`${mode} upload stored ${out.bytes} bytes, expected ${lastManifest.objects.dump.size}`);
          (mode === 'pgdrill' ? result.u : result.p).push(out.ms);
          (mode === 'pgdrill' ? result.uRss : result.pRss).push(run.peakRssKiB);
          log(`${label} round ${round + 1}: ${mode === 'pgdrill' ? 'U pgdrill S3 put' : 'P plain PutObject'} of ${fmtMB(out.bytes)} ${fmtSeconds(out.ms)}, peak RSS ${fmtMB(run.peakRssKiB * KIB)}`);
        }
      }
    }

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
              env: cleanEnv({ PGDRILL_STORAGE: storageDir, PGDRILL_ENCRYPTION_KEYS: keys, PGDRILL_BENCH_BACKUP_ID: lastManifest.id, PGDRILL_BENCH_FORM: form, PGDRILL_BENCH_LIBRARY: restoreLibrary }),
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

const runsText = (values: readonly number[], format: (v: number) => string): string => values.map(format).join(' / ');
const secs = (ms: number): string => (ms / 1000).toFixed(ms < 10_000 ? 2 : 1);
const paired = (num: readonly number[], den: readonly number[]): number[] => num.map((n, i) => n / den[i]!);
const mbOfKiB = (kib: number): number => (kib * KIB) / MB;
const maxOf = (values: readonly number[]): number => Math.max(...values);
/** MB/s of `bytes` moved in `ms`. */
const rate = (bytes: number, ms: number): string => `${(bytes / MB / (ms / 1000)).toFixed(0)} MB/s`;

function buildReport(results: readonly SizeResult[]): { table: string; details: string; missed: string[] } {
  const missed: string[] = [];
  const lines = ['| size | measurement | median | runs | target | result |', '| --- | --- | ---: | --- | --- | --- |'];
  const row = (...cells: string[]) => lines.push(`| ${cells.join(' | ')} |`);
  /** A figure with an upper bound, judged from its target's size on; below it the bound is shown in brackets. */
  const judged = (r: SizeResult, what: string, value: number, shown: string, runs: string, target: { max: number; from: number; fromLabel: string }, unit: string, strict = false) => {
    const bound = `${strict ? '<' : '≤'} ${target.max}${unit}`;
    const applies = r.targetBytes >= target.from;
    const ok = strict ? value < target.max : value <= target.max;
    if (applies && !ok) missed.push(`MISSED: ${r.label} ${what} = ${shown} (target ${bound})`);
    const note = applies ? '' : ` (from ${target.fromLabel})`;
    row(r.label, what, shown, runs, `${bound}${note}`, applies ? (ok ? 'PASS' : '**MISSED**') : ok ? 'within' : 'over');
  };
  const info = (r: SizeResult, what: string, shown: string, runs: string) => row(r.label, what, shown, runs, '', '');

  for (const r of results) {
    const [a, b, c] = [median(r.a), median(r.b), median(r.c)];
    const gb = r.plaintextBytes / 1e9;
    info(r, 'A: `pg_dump -Fc -Z0 -f file`', `${secs(a)} s`, runsText(r.a, secs));
    info(r, 'B: `pg_dump -Fp \\| gzip -6` (seed; B / A shown)', `${secs(b)} s`, `${runsText(r.b, secs)}; B / A ${fmtRatio(b / a)}`);
    info(r, 'C: `pgdrill backup` to a folder (CLI, wall)', `${secs(c)} s`, runsText(r.c, secs));
    judged(r, '**backup C / A**', c / a, fmtRatio(c / a), `paired ${runsText(paired(r.c, r.a), (x) => x.toFixed(2))}`, TARGETS.backupVsRaw, '×');
    judged(r, 'Node start + module graph (`pgdrill backup --help`, wall)', median(r.cliStartup) / 1000, `${secs(median(r.cliStartup))} s`, runsText(r.cliStartup, secs), TARGETS.startupSeconds, ' s');
    judged(r, 'Node start + module graph, peak RSS', mbOfKiB(median(r.cliStartupRss)), `${mbOfKiB(median(r.cliStartupRss)).toFixed(1)} MB`, runsText(r.cliStartupRss.map(mbOfKiB), (x) => x.toFixed(1)), TARGETS.startupRssMB, ' MB');
    row(r.label, 'floor: Node + commander, zod, pg, execa, nothing of pgdrill (`scripts/bench/library-floor.js`): wall, peak RSS, CPU', `${secs(median(r.libraryFloor))} s, ${mbOfKiB(median(r.libraryFloorRss)).toFixed(1)} MB, ${secs(median(r.libraryFloorCpu))} s CPU`, `${runsText(r.libraryFloor, secs)} s; ${runsText(r.libraryFloorRss.map(mbOfKiB), (x) => x.toFixed(1))} MB; ${runsText(r.libraryFloorCpu, secs)} s CPU`, '', 'floor');
    const outside = r.c.map((wall, i) => wall - r.cInner[i]!);
    judged(r, 'CLI wall outside the pipeline (C − in-process: start-up, connect, lock, manifest, retention, exit)', median(outside) / 1000, `${secs(median(outside))} s`, runsText(outside, secs), TARGETS.outsideSeconds, ' s');
    const cpuPerGB = r.cCpu.map((ms) => ms / 1000 / gb);
    judged(r, 'C Node CPU per GB of dump (whole process)', median(cpuPerGB), `${median(cpuPerGB).toFixed(1)} s`, runsText(cpuPerGB, (x) => x.toFixed(1)), TARGETS.cpuSecondsPerGB, ' s');
    judged(r, 'C peak RSS (max of runs)', mbOfKiB(maxOf(r.cRss)), `${mbOfKiB(maxOf(r.cRss)).toFixed(1)} MB`, runsText(r.cRss.map(mbOfKiB), (x) => x.toFixed(1)), TARGETS.backupRssMB, ' MB', true);
    if (r.s.length > 0) {
      const s = median(r.s);
      info(r, 'S: `pgdrill backup` into s3rver on 127.0.0.1 (CLI, wall; S / C shown)', `${secs(s)} s`, `${runsText(r.s, secs)}; S / C ${fmtRatio(s / c)}, S / A ${fmtRatio(s / a)}`);
      judged(r, 'S peak RSS, default part size (max of runs)', mbOfKiB(maxOf(r.sRss)), `${mbOfKiB(maxOf(r.sRss)).toFixed(1)} MB`, runsText(r.sRss.map(mbOfKiB), (x) => x.toFixed(1)), TARGETS.backupRssMB, ' MB', true);
    }
    if (r.u.length > 0) {
      const [u, p] = [median(r.u), median(r.p)];
      info(r, `U: pgdrill S3 put of the stored dump (${fmtMB(r.storedBytes)}, streamed)`, `${rate(r.storedBytes, u)}`, `${runsText(r.u, secs)} s; peak RSS ${runsText(r.uRss.map(mbOfKiB), (x) => x.toFixed(1))} MB`);
      info(r, 'P: one plain `PutObject` of the same bytes (U / P time shown)', `${rate(r.storedBytes, p)}`, `${runsText(r.p, secs)} s; U / P ${fmtRatio(u / p)}, paired ${runsText(paired(r.u, r.p), (x) => x.toFixed(2))}`);
    }
    if (r.r0.length > 0) {
      const [r0, r1] = [median(r.r0), median(r.r1)];
      info(r, 'R0: `pg_restore -j2` of A\'s archive (local file)', `${secs(r0)} s`, runsText(r.r0, secs));
      info(r, 'R1: fetch + verify + decrypt + decompress + restore -j2', `${secs(r1)} s`, runsText(r.r1, secs));
      judged(r, '**restore R1 / R0**', r1 / r0, fmtRatio(r1 / r0), `paired ${runsText(paired(r.r1, r.r0), (x) => x.toFixed(2))}`, TARGETS.restoreVsRaw, '×');
      judged(r, 'R1 peak RSS (max of runs)', mbOfKiB(maxOf(r.r1Rss)), `${mbOfKiB(maxOf(r.r1Rss)).toFixed(1)} MB`, runsText(r.r1Rss.map(mbOfKiB), (x) => x.toFixed(1)), TARGETS.restoreRssMB, ' MB', true);
    }
  }
  if (results.length > 1) {
    const bySize = [...results].sort((x, y) => x.targetBytes - y.targetBytes);
    const small = mbOfKiB(maxOf(bySize[0]!.cRss));
    const large = mbOfKiB(maxOf(bySize.at(-1)!.cRss));
    const growth = large - small;
    const ok = growth < TARGETS.rssGrowthMB;
    if (!ok) missed.push(`MISSED: all sizes peak RSS growth = ${growth.toFixed(1)} MB (target < +${TARGETS.rssGrowthMB} MB)`);
    row(`${bySize[0]!.label} → ${bySize.at(-1)!.label}`, 'C peak RSS growth with size', `${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MB`, `${small.toFixed(1)} → ${large.toFixed(1)}`,
      `< +${TARGETS.rssGrowthMB} MB`, ok ? 'PASS' : '**MISSED**');
  }

  const details: string[] = ['| size | where the time goes (medians) |', '| --- | --- |'];
  for (const r of results) {
    const c = median(r.c);
    const inner = median(r.cInner);
    const startup = median(r.cliStartup);
    const gb = r.plaintextBytes / 1e9;
    details.push(
      `| ${r.label} | fixture ${r.rows.toLocaleString('en')} respondents, pg_database_size ${fmtMB(r.dbBytes)} (loaded in ${fmtSeconds(r.loadMs)}); ` +
        `A archive ${fmtMB(r.rawDumpBytes)}, B .sql.gz ${fmtMB(r.gzipBytes)}, C stored ${fmtMB(r.storedBytes)} (plaintext ${fmtMB(r.plaintextBytes)}, ` +
        `${(r.plaintextBytes / r.storedBytes).toFixed(1)}:1) |`,
    );
    details.push(
      `| ${r.label} | C: Node start + module graph (\`pgdrill backup --help\`) ${fmtSeconds(startup)}, ${fmtMB(median(r.cliStartupRss) * KIB)} RSS, ${fmtSeconds(median(r.cliStartupCpu))} CPU; ` +
        `inside the CLI (manifest durationMs: snapshot, pg_dump → SHA-256 → zstd → AES-GCM → SHA-256 → folder, counts, globals) ${fmtSeconds(inner)}; ` +
        `outside it ${fmtSeconds(c - inner)}, of which start-up ${fmtSeconds(startup)} and connect, lock, manifest, retention, exit ${fmtSeconds(c - inner - startup)}. ` +
        `C − A = ${fmtSeconds(c - median(r.a))}. CPU of C's Node process (user + system, pg_dump excluded) ${fmtSeconds(median(r.cCpu))}: ` +
        `${(median(r.cCpu) / 1000 / gb).toFixed(1)} s per GB of dump, ${((median(r.cCpu) - median(r.cliStartupCpu)) / 1000 / gb).toFixed(1)} s per GB without the start-up's CPU |`,
    );
    if (r.s.length > 0) {
      details.push(
        `| ${r.label} | S: in-process ${fmtSeconds(median(r.sInner))} (C ${fmtSeconds(inner)}); Node CPU ${fmtSeconds(median(r.sCpu))} (C ${fmtSeconds(median(r.cCpu))}); ` +
          `stored throughput over the in-process time ${rate(r.storedBytes, median(r.sInner))}${r.u.length > 0 ? `; U ${rate(r.storedBytes, median(r.u))}, P ${rate(r.storedBytes, median(r.p))}, P peak RSS ${runsText(r.pRss.map(mbOfKiB), (x) => x.toFixed(1))} MB` : ''} |`,
      );
    }
    if (r.r1.length > 0) {
      details.push(
        `| ${r.label} | R1: download + SHA-256 ${fmtSeconds(median(r.r1Download))}, decrypt + decompress + SHA-256 ${fmtSeconds(median(r.r1Decrypt))}, ` +
          `globals + pg_restore -j2 ${fmtSeconds(median(r.r1Restore))}, of which pg_restore -j2 alone ${fmtSeconds(median(r.r1PgRestore))} (R0 ${fmtSeconds(median(r.r0))}); Node CPU ${fmtSeconds(median(r.r1Cpu))} |`,
      );
    }
    details.push(
      `| ${r.label} | C peak RSS sources (KiB → MB): exit-hook VmHWM ${runsText(r.cRssHook.map(mbOfKiB), (x) => x.toFixed(1))}; ` +
        `VmHWM polled every 50 ms ${runsText(r.cRssPolled.map(mbOfKiB), (x) => x.toFixed(1))} |`,
    );
    details.push(`| ${r.label} | load average 1/5/15 min: start ${r.loadAvgStart.map((x) => x.toFixed(2)).join(' / ')}, end ${r.loadAvgEnd.map((x) => x.toFixed(2)).join(' / ')} |`);
  }
  return { table: lines.join('\n'), details: details.join('\n'), missed };
}

async function appendDocs(report: { table: string; details: string; missed: string[] }, results: readonly SizeResult[]): Promise<void> {
  await mkdir(path.dirname(DOCS), { recursive: true });
  if (!existsSync(DOCS)) throw new Error(`${path.relative(ROOT, DOCS)} is missing: it holds the status table and method the runs are appended to`);
  const pgVersion = (await execa(path.join(PG_BIN, 'postgres'), ['--version'], { reject: false })).stdout.trim();
  await appendBenchSection({
    docs: DOCS,
    command: commandLine,
    software: `${pgVersion}; CLI measured: ${FORM_TEXT[form]}`,
    loadAvgStart: results[0]!.loadAvgStart,
    loadAvgEnd: results.at(-1)!.loadAvgEnd,
    code: await codeVersion(CODE_PATHS),
    nodeArgs: CLI_NODE_ARGS,
    report,
  });
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
        `Admin API over a folder store of ${result.backups} manifests (scripts/bench/api.ts). Machine: ${cpus.length} × ${cpus[0]?.model?.trim() ?? 'CPU'}; Node ${process.version}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' / ')} (shared machine). Code: ${await codeVersion(CODE_PATHS)}.`,
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
log(`measuring ${await codeVersion(CODE_PATHS)}; ${FORM_TEXT[form]}; CLI Node options: ${CLI_NODE_ARGS.join(' ') || 'none'}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' / ')}`);
try {
  if (form === 'package') {
    log('building the package (pnpm build)');
    await buildPackage();
  }
  libraryFloor = await scriptInForm(LIBRARY_FLOOR, form);
  restoreLibrary = await scriptInForm(RESTORE_LIBRARY, form);
  for (const { label, bytes } of sizes) results.push(await benchSize(label, bytes));
} catch (error) {
  // execa errors carry the captured output in .message: keep the short form.
  const text = error instanceof Error ? ((error as { shortMessage?: string }).shortMessage ?? error.stack ?? error.message) : String(error);
  log(`failed: ${text.slice(0, 4000)}`);
  await stopAllSandboxes().catch(() => undefined);
  await s3?.stop().catch(() => undefined);
  process.exit(1);
}
await s3?.stop();
const report = buildReport(results);
process.stdout.write(`\n${report.table}\n\n${report.details}\n\n`);
if (report.missed.length > 0) process.stdout.write(`${report.missed.join('\n')}\n`);
else process.stdout.write('All targets met.\n');
if (writeDocs) {
  await appendDocs(report, results);
  log(`appended to ${path.relative(ROOT, DOCS)}`);
}
