import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { loadFixture } from '../../../fixtures/index.ts';
import { loadConfig } from '../../config/index.ts';
import { generateKey, loadKeyring } from '../../crypto/index.ts';
import { drillExitCode, runDrill, type DrillResult } from '../../drill/index.ts';
import type { TargetRequest } from '../../pitr/index.ts';
import { runBackup } from '../../dump/index.ts';
import { ConfigError, IntegrityError } from '../../errors/index.ts';
import { failsVerification, verifyReports } from '../../evidence/index.ts';
import { parseBackupChoice } from '../../restore/index.ts';
import { startEmbeddedSandbox } from '../../sandbox/index.ts';
import { pruneBackups } from '../../retention/index.ts';
import { openStorage } from '../../storage/index.ts';

interface DrillFlags {
  date?: string;
  monthly?: string;
  key?: string;
  sandbox?: 'auto' | 'docker' | 'embedded';
  full?: boolean;
  pitr?: boolean;
  targetTime?: string;
  target?: string;
  targetName?: string;
}

/** The point-in-time target the flags ask for (default: between the two newest archived markers). */
function pitrTarget(flags: DrillFlags): TargetRequest {
  const given = [flags.targetTime, flags.target, flags.targetName].filter((v) => v !== undefined);
  if (!flags.pitr) throw new ConfigError('--target-time, --target and --target-name choose a point-in-time target', { hint: 'Add --pitr' });
  if (flags.date !== undefined || flags.monthly !== undefined || flags.key !== undefined) {
    throw new ConfigError('--date, --monthly and --key choose a dump backup; a point-in-time drill (--pitr) restores a pgBackRest set', { hint: 'Use --target-time, --target latest or --target-name with --pitr' });
  }
  if (given.length > 1) throw new ConfigError('Give one of --target-time, --target latest and --target-name', { hint: 'Without any, the drill picks a time between the two newest archived markers' });
  if (flags.target !== undefined && flags.target !== 'latest') throw new ConfigError(`--target ${flags.target}: the only named target is "latest"`, { hint: 'For a time use --target-time ISO; for a restore point --target-name NAME' });
  if (flags.targetTime !== undefined) {
    if (!/\d{2}:\d{2}.*(Z|[+-]\d{2}(:?\d{2})?)$/.test(flags.targetTime) || Number.isNaN(Date.parse(flags.targetTime))) {
      throw new ConfigError(`--target-time "${flags.targetTime}" is not an ISO-8601 time with a zone`, { hint: 'e.g. 2026-12-07T14:01:00Z or 2026-12-07T15:01:00+01:00' });
    }
    return { type: 'time', time: flags.targetTime };
  }
  if (flags.target === 'latest') return { type: 'latest' };
  if (flags.targetName !== undefined) return { type: 'name', name: flags.targetName };
  return { type: 'auto' };
}

/** Prints the verdict and sets the exit code: 1 for FAIL, the report error's own code if filing failed. */
function finish(result: DrillResult): void {
  printResult(result);
  process.exitCode = drillExitCode(result);
}

function printResult(result: DrillResult): void {
  process.stdout.write(`\nDrill ${result.drillId}: ${result.verdict}\n`);
  if (result.failedChecks.length) process.stdout.write(`Failed checks: ${result.failedChecks.join('; ')}\n`);
  for (const failure of result.failures ?? []) process.stdout.write(`  ${failure.title}: ${failure.summary}\n`);
  if (result.error) process.stdout.write(`Error: ${result.error}\n`);
  if (result.pdfPath) process.stdout.write(`Report: ${path.resolve(result.pdfPath)}\n`);
}

export function register(program: Command): void {
  program
    .command('drill')
    .description('restore a backup into a fresh sandbox, run every check in drills/ and checks/, file the PDF report')
    .option('--date <YYYY-MM-DD>', 'the newest full backup taken that day (default: the newest full backup)')
    .option('--monthly <YYYY-MM>', 'the monthly backup of that month')
    .option('--key <key>', 'a backup by id or object key (full or partial)')
    .option('--sandbox <kind>', 'auto (default), docker or embedded (PGDRILL_SANDBOX)')
    .option('--full', "verify every stored file content of the backup's file sets (default: a sample, drill.fileSample)")
    .option('--pitr', 'a point-in-time drill of the pgBackRest repository (config `pitr`) instead of a dump drill')
    .option('--target-time <ISO>', 'with --pitr: recover to this time (default: half-way between the two newest archived markers)')
    .option('--target <latest>', 'with --pitr: `latest`, recover to the end of the archived WAL')
    .option('--target-name <name>', 'with --pitr: recover to a restore point (pg_create_restore_point)')
    .action(async (flags: DrillFlags) => {
      if (flags.pitr || flags.targetTime !== undefined || flags.target !== undefined || flags.targetName !== undefined) {
        const target = pitrTarget(flags);
        if (flags.sandbox === 'docker') throw new ConfigError('--sandbox docker: a point-in-time drill runs in the embedded sandbox', { hint: 'Leave out --sandbox, or use --sandbox embedded' });
        finish(await runDrill({ configFile: program.opts().config, pitr: { target } }));
        return;
      }
      const { date, monthly, key } = flags;
      // Validated as `restore` does, before anything starts; no choice means the newest backup.
      const selector = parseBackupChoice({ latest: date === undefined && monthly === undefined && key === undefined, date, monthly, key });
      const result = await runDrill({
        configFile: program.opts().config,
        selector,
        sandbox: flags.sandbox,
        full: flags.full,
      });
      finish(result);
    });

  program
    .command('demo')
    .description('zero configuration: throwaway source database with the sample data, a real backup into ./pgdrill-demo, a drill, a PDF')
    .option('--rows <n>', 'respondents in the sample database', '20000')
    .option('--dir <dir>', 'where the demo keeps its backups', 'pgdrill-demo')
    .option('--sandbox <kind>', 'sandbox for the drill: embedded (default for the demo, needs no Docker), docker or auto')
    .action(async (flags: { rows: string; dir: string; sandbox?: 'auto' | 'docker' | 'embedded' }) => {
      const started = Date.now();
      // Each demo generates a fresh key, so backups of an earlier demo could not be decrypted: start
      // clean — but only in a folder the demo made itself, never in a real backup store.
      const dir = path.resolve(flags.dir);
      const marker = path.join(dir, '.pgdrill-demo');
      if ((await readdir(dir).catch(() => [])).length > 0 && !existsSync(marker)) {
        throw new ConfigError(`${dir} exists and was not made by \`pgdrill demo\``, { hint: 'Choose an empty or new folder with --dir' });
      }
      await rm(path.join(dir, 'backups'), { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      await writeFile(marker, 'Folder of `pgdrill demo`: its backups use a throwaway key and are replaced by the next demo.\n');
      process.stdout.write('pgdrill demo: starting a throwaway source database…\n');
      const source = await startEmbeddedSandbox({ major: 15, database: 'oslrs' });
      try {
        const key = generateKey('demo');
        const canaryPassword = randomBytes(12).toString('base64url');
        const appPassword = randomBytes(12).toString('base64url');
        const summary = await loadFixture(source.connectionUri('oslrs'), { rows: Number(flags.rows), canaryPassword, appPassword });
        process.stdout.write(`loaded the sample registry: ${Object.keys(summary.tables).length} tables, ${summary.rows} respondents\n`);
        // The demo configures itself through the same environment a real deployment uses.
        Object.assign(process.env, {
          DATABASE_URL: source.connectionUri('oslrs'),
          PGDRILL_STORAGE: dir,
          PGDRILL_ENCRYPTION_KEYS: `${key.id}:${key.base64}`,
          PGDRILL_CANARY_PASSWORD: canaryPassword,
          PGDRILL_DEMO_APP_PASSWORD: appPassword,
          PGDRILL_REPORTS_DIR: process.env.PGDRILL_REPORTS_DIR ?? 'reports',
        });
        // The sample registry's own identity and NDPA wording (a real drill states its own in pgdrill.config.ts).
        const overrides = {
          drill: { loginRoles: [{ name: 'oslrs_app', passwordEnv: 'PGDRILL_DEMO_APP_PASSWORD' }] },
          report: { organisation: 'Oyo State Labour Registry (sample data)', system: 'OSLRS demo', dpoContact: 'dpo@oslrs.example', regime: 'ndpa' as const, timeZone: 'Africa/Lagos' },
        };
        const config = await loadConfig({ configFile: program.opts().config, flags: overrides });
        const storage = openStorage(config);
        const backup = await runBackup({ config, storage, keyring: loadKeyring(config, 'write') })
          .then(async (result) => {
            await pruneBackups(config, storage);
            return result;
          })
          .finally(() => storage.close());
        process.stdout.write(`backup ${backup.manifest.objects.dump.key} (${backup.manifest.objects.dump.size} bytes, encrypted with key ${key.id})\n`);
        const sandbox = flags.sandbox ?? (process.env.PGDRILL_SANDBOX as typeof flags.sandbox) ?? 'embedded';
        const result = await runDrill({ configFile: program.opts().config, overrides, sandbox });
        finish(result);
        process.stdout.write(`demo finished in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
      } finally {
        await source.stop();
      }
    });

  program
    .command('report')
    .description('re-render the HTML and PDF of a drill from its evidence JSON')
    .requiredOption('--from <evidence.json>', 'a drill evidence file (reports/YYYY-MM/drill-….json)')
    .option('--out <dir>', 'output folder (default: report.outDir)')
    .action(async (flags: { from: string; out?: string }) => {
      const config = await loadConfig({ configFile: program.opts().config });
      const { rerenderReport } = await import('../../report/index.ts');
      const result = await rerenderReport(flags.from, {
        outDir: flags.out ?? config.report.outDir,
        chromiumPath: config.report.chromiumPath,
        logoPath: config.report.logoPath,
      });
      process.stdout.write(`${path.resolve(result.pdfPath)} (${result.pages} pages)\n`);
    });

  program
    .command('verify-reports')
    .description('walk the ledger of drill records in storage; report missing, altered, reordered, unsigned or forked records (a fork from concurrent drills is reported but does not fail)')
    .option('--public-key <pem>', 'Ed25519 public key to verify signatures (PGDRILL_REPORT_PUBLIC_KEY)')
    .option('--json', 'print the result as JSON')
    .action(async (flags: { publicKey?: string; json?: boolean }) => {
      const config = await loadConfig({ configFile: program.opts().config });
      const storage = openStorage(config);
      try {
        const publicKey = flags.publicKey ?? process.env.PGDRILL_REPORT_PUBLIC_KEY;
        const result = await verifyReports(storage, config.storage.prefix, publicKey ? { publicKey } : {});
        if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        else {
          process.stdout.write(`${result.records.length} drill record(s) in ${storage.location}\n`);
          for (const problem of result.problems) process.stdout.write(`${problem.kind.toUpperCase()} ${problem.drillId}: ${problem.message}\n`);
          const failing = result.problems.filter((p) => failsVerification(p.kind)).length;
          const notices = result.problems.length - failing;
          const noticeText = `${notices} fork(s) from drills that ran at the same time (records intact; not a failure)`;
          process.stdout.write(failing === 0 ? `ledger intact${notices ? `: ${noticeText}` : ''}\n` : `${failing} problem(s)${notices ? `, and ${noticeText}` : ''}\n`);
        }
        if (!result.ok) throw new IntegrityError('Drill records failed verification', { hint: 'See the problems above' });
      } finally {
        await storage.close();
      }
    });
}
