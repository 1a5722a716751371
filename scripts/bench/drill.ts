// `pnpm bench:drill [--size 1GB]`
//
// What the drill's fidelity checks (issue 12 items 1–7) add to a drill, on the OSLRS fixture:
//   1. an embedded PostgreSQL 15 source is loaded with the fixture (`--size`, pg_database_size);
//   2. `pgdrill backup` into a local folder (the real CLI, as a child process);
//   3. `pgdrill verify --all`: download, both SHA-256, decryption to the end and `pg_restore --list`
//      of every retained archive — the work archive verification does per archive (→ MB/s);
//   4. `pgdrill drill --sandbox embedded`, then its evidence JSON: the time to a verified database
//      (RTO), every check's own duration, and the share of the checks the fidelity issue added
//      (extensions, retention-coverage, sequences, sensitivity) in the drill of the newest backup.
// Prints a Markdown table on stdout; progress on stderr. Removes its sandbox and folders.
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadFixture, parseSize, rowsForTargetBytes } from '../../fixtures/index.ts';
import { generateKey } from '../../src/crypto/index.ts';
import { BackupManifest } from '../../src/catalog/index.ts';
import { DrillEvidence } from '../../src/evidence/index.ts';
import { startEmbeddedSandbox } from '../../src/sandbox/index.ts';
import { cleanEnv, fmtMB, fmtSeconds, runNodeMeasured, shebangNodeArgs, timed } from './measure.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'bin', 'pgdrill.js');
const CLI_NODE_ARGS = shebangNodeArgs(await readFile(CLI, 'utf8'));
/** The checks issue 12 added to every drill (archive verification is measured on its own). */
const FIDELITY_CHECKS = ['extensions', 'retention-coverage', 'sequences', 'sensitivity'];

const { values } = parseArgs({ options: { size: { type: 'string', default: '1GB' } } });
const targetBytes = parseSize(values.size);
const log = (line: string) => process.stderr.write(`[bench:drill] ${line}\n`);

const work = await mkdtemp(path.join(os.tmpdir(), 'pgdrill-bench-drill-'));
const source = await startEmbeddedSandbox({ major: 15, database: 'oslrs' });
try {
  const url = source.connectionUri('oslrs');
  const rows = rowsForTargetBytes(targetBytes);
  const canaryPassword = randomBytes(12).toString('base64url');
  log(`loading ${rows.toLocaleString('en')} respondents`);
  const loaded = await timed(() => loadFixture(url, { rows, canaryPassword }));
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const dbBytes = await client
    .query('VACUUM (FREEZE, ANALYZE)')
    .then(() => client.query<{ n: string }>('SELECT pg_database_size(current_database()) AS n'))
    .then((r) => Number(r.rows[0]?.n))
    .finally(() => client.end());
  log(`loaded in ${fmtSeconds(loaded.ms)}, pg_database_size ${fmtMB(dbBytes)}`);

  const key = generateKey('bench');
  const env = cleanEnv({
    DATABASE_URL: url,
    PGDRILL_STORAGE: path.join(work, 'storage'),
    PGDRILL_ENCRYPTION_KEYS: `${key.id}:${key.base64}`,
    PGDRILL_CANARY_PASSWORD: canaryPassword,
    PGDRILL_REPORTS_DIR: path.join(work, 'reports'),
    PGDRILL_STATE_DIR: path.join(work, 'state'),
    NO_COLOR: '1',
  });
  const cli = async (args: string[], okCodes: readonly number[] = [0]) => {
    const run = await runNodeMeasured({ nodeArgs: CLI_NODE_ARGS, script: CLI, args, env, cwd: work, rssFile: path.join(work, 'rss') });
    if (!okCodes.includes(run.exitCode ?? -1)) throw new Error(`pgdrill ${args.join(' ')} exited ${run.exitCode}: ${run.stderr.trim().split('\n').slice(-5).join(' | ')}`);
    log(`pgdrill ${args.join(' ')}: ${fmtSeconds(run.wallMs)}`);
    return run;
  };

  const backup = await cli(['backup', '--json']);
  const manifest = BackupManifest.parse(JSON.parse(backup.stdout));
  const storedBytes = manifest.objects.dump.size;
  const verify = await cli(['verify', '--all', '--json']);
  // Every retained copy is read: the daily and its monthly promotion copy, each the same size.
  const verifiedBytes = storedBytes * (JSON.parse(verify.stdout) as { results: unknown[] }).results.length;
  // A fixture drill passes; 1 is tolerated so a warning-free FAIL still yields its timings.
  const drill = await cli(['drill', '--sandbox', 'embedded'], [0, 1]);

  const month = (await readdir(path.join(work, 'reports')))[0]!;
  const evidenceFile = (await readdir(path.join(work, 'reports', month))).find((f) => f.endsWith('.json'))!;
  const evidence = DrillEvidence.parse(JSON.parse(await readFile(path.join(work, 'reports', month, evidenceFile), 'utf8')));
  const checksMs = evidence.checks.reduce((sum, c) => sum + c.durationMs, 0);
  const fidelity = evidence.checks.filter((c) => FIDELITY_CHECKS.includes(c.id));
  const fidelityMs = fidelity.reduce((sum, c) => sum + c.durationMs, 0);
  const rtoMs = evidence.timings.rtoMs ?? Number.NaN;
  const pct = (ms: number, of: number) => `${((100 * ms) / of).toFixed(1)} %`;

  const lines = [
    `### Drill of the newest backup, ${fmtMB(dbBytes)} fixture (load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})`,
    '',
    `Verdict ${evidence.verdict}; \`pgdrill drill\` wall ${fmtSeconds(drill.wallMs)}, RTO ${fmtSeconds(rtoMs)}, all checks ${fmtSeconds(checksMs)}; stored dump ${fmtMB(storedBytes)}.`,
    '',
    '| check | duration | share of RTO + checks |',
    '|---|---|---|',
    ...evidence.checks.map((c) => `| ${c.id}${FIDELITY_CHECKS.includes(c.id) ? ' (issue 12)' : ''} | ${fmtSeconds(c.durationMs)} | ${pct(c.durationMs, rtoMs + checksMs)} |`),
    `| **issue 12 checks together** | **${fmtSeconds(fidelityMs)}** | **${pct(fidelityMs, rtoMs + checksMs)}** (target < 10 %) |`,
    '',
    `Archive verification (\`pgdrill verify --all\`, ${fmtMB(verifiedBytes)} stored): ${fmtSeconds(verify.wallMs)}, ${(verifiedBytes / 1e6 / (verify.wallMs / 1000)).toFixed(1)} MB/s.`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await source.stop();
  await rm(work, { recursive: true, force: true });
}
