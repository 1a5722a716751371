// Point-in-time drills against a real pgBackRest 2.45 and real archiving: a source cluster with
// archive_mode on pushing WAL into local repositories, a full backup, markers written by
// `pgdrill pitr mark`, rows deleted after the target. The drill must recover to between two
// markers (the restored markers end at the right one, later rows absent), refuse a target before
// the oldest backup (exit 3), name a WAL segment missing from the repository (exit 1), and say
// clearly when the cipher pass is wrong (exit 4).
import { execa } from 'execa';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedSandbox } from '../../src/sandbox/index.ts';
import { startArchivingSource, type ArchivingSource } from '../helpers/pgbackrest.ts';
import { REPO_ROOT, runCli, tempDir } from '../helpers/pgdrill.ts';
import { drill, type DrillRun } from './drill-helpers.ts';

const hasPgbackrest = (await execa('pgbackrest', ['version'], { reject: false })).exitCode === 0;
if (!hasPgbackrest && process.env.CI === 'true') throw new Error('pgbackrest is not installed: under CI=true the point-in-time tests must run (scripts/bootstrap.sh installs it)');

interface Marker {
  id: number;
  markedAt: string;
  walFile: string;
}

let src: ArchivingSource;
let env: Record<string, string>;
let markers: Marker[];
let backupStartedAt: string;
/** When the rows after the target were deleted and added. */
let changedAt: string;
let run: DrillRun;
const ROWS_DELETED = 50;

/** A project folder (cwd of the drill) with its pgdrill.config.json and the given drill files. */
function project(pitr: Record<string, unknown>, drills: Record<string, string> = {}): string {
  const dir = tempDir('pitr-project');
  const sandbox = src.source.sandbox as EmbeddedSandbox;
  const config = {
    pitr: {
      stanza: src.stanza,
      ...pitr,
      options: {
        // pgdrill's own view of the repository; pg1-* only for `pgbackrest check` (doctor).
        'pg1-path': sandbox.dataDir,
        'pg1-socket-path': sandbox.rootDir,
        'pg1-port': sandbox.connection.port,
        'pg1-user': sandbox.connection.user,
        'lock-path': path.join(src.dir, 'lock'),
        ...(pitr.options as Record<string, unknown>),
      },
    },
    drill: { loginRoles: [{ name: 'oslrs_app', passwordEnv: 'OSLRS_APP_PASSWORD' }] },
  };
  writeFileSync(path.join(dir, 'pgdrill.config.json'), JSON.stringify(config));
  mkdirSync(path.join(dir, 'drills'));
  for (const [name, text] of Object.entries(drills)) writeFileSync(path.join(dir, 'drills', name), text);
  return dir;
}

const mark = async (cwd: string): Promise<Marker> => {
  const result = await runCli(['pitr', 'mark', '--json'], env, { cwd });
  expect(result.exitCode, String(result.stderr)).toBe(0);
  return JSON.parse(String(result.stdout)) as Marker;
};

// A custom drill file of the project: runs in the point-in-time drill beside the built-in checks.
const PROBE_DRILL = `import { drillTest as test, expect } from ${JSON.stringify(path.join(REPO_ROOT, 'src/drill/test.ts'))};

test('rows deleted after the target are back, rows added after it are absent', async ({ db, drill }) => {
  expect(drill.pitr?.markers.expected?.id).toBeGreaterThan(0);
  const { rows } = await db.query('SELECT phase, count(*)::int AS n FROM public.pitr_probe GROUP BY phase ORDER BY phase');
  expect(rows).toEqual([{ phase: 'before', n: ${ROWS_DELETED} }]);
});
`;

let mainProject: string;

beforeAll(async () => {
  if (!hasPgbackrest) return;
  src = await startArchivingSource({ rows: 300 });
  env = {
    DATABASE_URL: src.source.url,
    PGDRILL_STORAGE: tempDir('pitr-store'),
    PGDRILL_CANARY_PASSWORD: src.source.canaryPassword,
    OSLRS_APP_PASSWORD: src.source.appPassword,
  };
  mainProject = project({ options: { 'repo1-path': src.repo } }, { 'pitr-probe.drill.ts': PROBE_DRILL });
  backupStartedAt = new Date().toISOString();
  await src.pgbackrest(['backup', '--type=full', '--repo=1']);
  // 14:01 the marker before the target; 14:02 rows deleted and others added; then the next marker.
  const m1 = await mark(mainProject);
  await src.query(`CREATE TABLE public.pitr_probe (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, phase text NOT NULL)`);
  await src.query(`INSERT INTO public.pitr_probe (phase) SELECT 'before' FROM generate_series(1, ${ROWS_DELETED})`);
  const markStarted = Date.now();
  const m2 = await mark(mainProject);
  // The changes come well after the target the drill will pick, half-way between markers 2 and 3:
  // marker 3 is written one CLI start-up after the changes, so the pause before them is longer
  // than twice that (a loaded machine starts the CLI in seconds).
  await new Promise((resolve) => setTimeout(resolve, 4000 + 2 * (Date.now() - markStarted)));
  changedAt = new Date().toISOString();
  await src.query(`DELETE FROM public.pitr_probe WHERE phase = 'before'`);
  await src.query(`INSERT INTO public.pitr_probe (phase) SELECT 'after' FROM generate_series(1, 20)`);
  const m3 = await mark(mainProject);
  markers = [m1, m2, m3];
  await src.waitArchived(m3.walFile);
  run = await drill(env, { cwd: mainProject, pitr: { target: { type: 'auto' } } });
}, 300_000);

afterAll(async () => {
  await src?.stop();
});

describe.skipIf(!hasPgbackrest)('point-in-time drill (pgBackRest)', () => {
  it('recovers half-way between the two newest markers: the restored markers end at the earlier one, later rows are absent', () => {
    expect(run.result.verdict, run.output.slice(-4000)).toBe('PASS');
    expect(run.exitCode).toBe(0);
    const pitr = run.evidence!.pitr!;
    const [, m2, m3] = markers as [Marker, Marker, Marker];
    expect(pitr.target.type).toBe('time');
    expect(pitr.target.value! > m2.markedAt && pitr.target.value! < changedAt && changedAt < m3.markedAt).toBe(true);
    expect(pitr.target.reason).toContain(`markers ${m2.id}`);
    expect(pitr.reached).toMatchObject({ ok: true, expectedMarker: { id: m2.id }, restoredMarker: { id: m2.id } });
    expect(pitr.reached.summary).toContain(`marker ${m3.id}`);
    expect(pitr.reached.recoveryStop).toMatch(/^recovery stopping before commit of transaction \d+, time /);
    // The set pgdrill chose is the one pgBackRest restored (backup_label), and it said which.
    expect(pitr.backupSet.restoredStartLsn).toBe(pitr.backupSet.lsnStart);
    expect(pitr.backupSet.reason).toContain('the newest of 1 usable set(s) that finished before the target');
    expect(pitr.verify).toMatchObject({ ok: true });
    expect(pitr.wal.gaps).toEqual([]);
    expect(pitr.info).toMatchObject({ name: src.stanza });
    expect(run.evidence!.backup).toBeUndefined();
    // RTO = restore + recovery + checks; RPO = now minus the newest archived WAL.
    expect(run.evidence!.timings.rtoMs).toBeGreaterThan((pitr.timings.restoreMs ?? 0) + (pitr.timings.recoveryMs ?? 0));
    expect(run.evidence!.rpoHours).toBeLessThan(1);
    expect(run.result.pdfPath).toMatch(/\.pdf$/);
  });

  it("renders the PDF's point-in-time recovery section: target, reached, the set, WAL continuity, verify", async () => {
    const text = (await execa('pdftotext', [run.result.pdfPath!, '-'])).stdout.replace(/\s+/g, ' ');
    const pitr = run.evidence!.pitr!;
    for (const phrase of ['Point-in-time recovery', 'REACHED', pitr.backupSet.label, 'same set', 'WAL archive and repository', 'CONTINUOUS', 'pgbackrest verify']) {
      expect(text, phrase).toContain(phrase);
    }
    expect(text).not.toContain('NOT REACHED');
  });

  it('runs the checks that apply to a physical restore and skips the dump-only ones with their reason', () => {
    for (const id of ['restore', 'pitr-target', 'pitr-repository', 'amcheck', 'sequences', 'tables-readable', 'audit-chain', 'role-authentication']) {
      expect(run.check(id)?.status, `${id}: ${run.check(id)?.summary}`).toBe('pass');
    }
    expect(run.check('role-authentication')?.summary).toMatch(/1 login role\(s\) and 7 canary account\(s\) authenticated/);
    expect(run.check('amcheck')?.summary).toMatch(/^\d+ B-tree indexes verified with bt_index_check$/);
    expect(run.check('audit-chain')?.summary).toContain("is the source's row with the same hash");
    // The sensitivity check reruns the point-in-time checks on defects made in rolled-back transactions.
    expect(run.check('sensitivity')?.status, run.check('sensitivity')?.summary).toBe('pass');
    expect(run.check('sensitivity')?.summary).toMatch(/^sensitivity shown: 2 of 2 mutations caught \(audit-chain, sequences\); not applicable: record-counts/);
    for (const id of ['record-counts', 'backup-integrity', 'schema-fingerprint', 'freshness', 'retention-coverage', 'older-backup', 'archive-verification', 'extensions']) {
      expect(run.check(id)?.status, id).toBe('skip');
      expect(run.check(id)?.summary, id).toMatch(/^not applicable to a point-in-time restore: /);
    }
    const probe = run.evidence!.checks.find((c) => c.title.startsWith('rows deleted after the target are back'));
    expect(probe).toMatchObject({ status: 'pass', builtIn: false });
  });

  it('refuses a target before the oldest backup set finished (exit 3), before restoring anything', async () => {
    const before = new Date(Date.parse(backupStartedAt) - 3_600_000).toISOString();
    const result = await runCli(['drill', '--pitr', '--target-time', before], env, { cwd: mainProject });
    expect(result.exitCode, String(result.stderr)).toBe(3);
    expect(String(result.stderr)).toMatch(/--target-time .* is before the oldest usable backup set \d{8}-\d{6}F finished \(.*\): no backup in the repository can be recovered to it\. Choose a target after/);
  });

  it('fails the drill naming the WAL segment missing from the repository (exit 1)', async () => {
    const [, m2, m3] = markers as [Marker, Marker, Marker];
    // A copy of the repository without the segment that holds marker 2.
    const gapRepo = path.join(src.dir, 'repo-gap');
    await execa('cp', ['-a', src.repo, gapRepo]);
    const { stdout } = await execa('find', [gapRepo, '-name', `${m2.walFile}-*`]);
    expect(stdout.trim()).not.toBe('');
    for (const file of stdout.trim().split('\n')) rmSync(file);
    const target = new Date((Date.parse(m2.markedAt) + Date.parse(m3.markedAt)) / 2).toISOString();
    const gap = await drill(env, { cwd: project({ options: { 'repo1-path': gapRepo } }), pitr: { target: { type: 'time', time: target } } });
    expect(gap.result.verdict).toBe('FAIL');
    expect(gap.exitCode).toBe(1);
    expect(gap.check('restore')?.summary).toContain(`WAL segment ${m2.walFile} is missing from the repository`);
    expect(gap.check('pitr-repository')).toMatchObject({ status: 'fail' });
    expect(gap.check('pitr-repository')?.summary).toContain(`WAL segment ${m2.walFile} is missing`);
    expect(gap.evidence!.pitr!.reached.ok).toBe(false);
  });

  it('says clearly that the cipher pass does not open an encrypted repository (exit 4), and never shows the pass', async () => {
    const encrypted = project({ options: { 'repo1-path': src.encryptedRepo, 'repo1-cipher-type': 'aes-256-cbc' }, cipherPassEnv: 'PITR_CIPHER_PASS' });
    const wrong = await runCli(['drill', '--pitr', '--target', 'latest'], { ...env, PITR_CIPHER_PASS: 'not-the-pass' }, { cwd: encrypted });
    expect(wrong.exitCode, String(wrong.stderr)).toBe(4);
    expect(String(wrong.stderr)).toContain(`WRONG_KEY: the cipher pass in PITR_CIPHER_PASS does not decrypt the pgBackRest repository of stanza "${src.stanza}"`);
    expect(String(wrong.stderr)).not.toContain('not-the-pass');
    // The right pass opens it: what is missing then is a backup in it (exit 3).
    const right = await runCli(['drill', '--pitr', '--target', 'latest'], { ...env, PITR_CIPHER_PASS: src.cipherPass }, { cwd: encrypted });
    expect(right.exitCode, String(right.stderr)).toBe(3);
    expect(String(right.stderr)).toContain('holds no backup set');
    expect(String(right.stderr) + String(right.stdout)).not.toContain(src.cipherPass);
  });

  it('pitr doctor finds the source set up, pgbackrest check included', async () => {
    const result = await runCli(['pitr', 'doctor'], env, { cwd: mainProject });
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
    for (const line of ['OK   archive_mode: on', 'OK   wal_level: replica', 'OK   archive_command: pgbackrest', 'OK   pgbackrest check', 'OK   backups in the repository: 1 set(s)']) {
      expect(String(result.stdout)).toContain(line);
    }
    expect(String(result.stdout)).toContain('point-in-time recovery is set up');
  });
});
