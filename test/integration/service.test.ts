// The job service with real parts: Debian's redis-server (embedded by `pgdrill serve`, or started
// by the test and shared through REDIS_URL), a real PostgreSQL source, pgdrill's CLI processes.
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSourceDatabase, type SourceDatabase } from '../helpers/postgres.ts';
import { newKeyring, runCli, tempDir } from '../helpers/pgdrill.ts';
import { startService, type Service } from '../helpers/service.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startSmtpServer } from '../helpers/smtp.ts';

let source: SourceDatabase;
let keys: string;

beforeAll(async () => {
  source = await startSourceDatabase({ rows: 20_000 });
  keys = newKeyring('k1');
});
afterAll(async () => {
  await source?.stop();
});

/** `pgdrill serve --metrics-port 0` (the log says where /metrics is); the admin API off (its own tests are in admin-api.test.ts). */
const execaService = (cwd: string, env: Record<string, string>): Service => startService('serve', cwd, env, ['--metrics-port', '0', '--no-api']);

const baseEnv = (storage: string, extra: Record<string, string> = {}) => ({ DATABASE_URL: source.url, PGDRILL_STORAGE: storage, PGDRILL_ENCRYPTION_KEYS: keys, ...extra });

describe('pgdrill serve (one machine, private Redis)', () => {
  it('runs a queued backup, then retention and verification, and a drill: e-mails, /metrics, status healthy; SIGTERM exits 143 and stops Redis', async () => {
    const cwd = tempDir('serve');
    const smtp = await startSmtpServer({ user: 'backups', password: 'smtp-Secret-1' });
    const env = baseEnv(path.join(cwd, 'store'), {
      PGDRILL_SMTP_URL: smtp.url,
      PGDRILL_SMTP_PASSWORD: 'smtp-Secret-1',
      PGDRILL_MAIL_FROM: 'backups@example.org',
      PGDRILL_NOTIFY_EMAIL: 'ops@example.org',
      PGDRILL_NOTIFY_ON_SUCCESS: 'always',
      PGDRILL_SANDBOX: 'embedded',
      PUPPETEER_EXECUTABLE_PATH: '/usr/bin/chromium',
      PGDRILL_CANARY_PASSWORD: source.canaryPassword,
    });
    const service = execaService(cwd, env);
    try {
      await service.waitFor((l) => l.msg === 'worker ready');
      const metricsUrl = String((await service.waitFor((l) => l.msg === 'metrics')).url);
      const state = path.join(cwd, '.pgdrill');
      expect((await readdir(state)).sort()).toEqual(expect.arrayContaining(['redis.json', 'redis.password']));
      const run = await runCli(['run', 'backup', '--wait'], env, { cwd });
      expect(run.exitCode, String(run.stderr)).toBe(0);
      expect(run.stdout).toMatch(/^backup of oslrs \(job \S+\) finished in .*: backup backups\/daily\/\S+-oslrs\.dump\.zst\.enc \d+ bytes/m);
      // Retention, then verification of the new backup, as jobs of their own.
      await service.waitFor((l) => l.kind === 'prune' && l.msg === 'job completed');
      const verified = await service.waitFor((l) => l.kind === 'verify' && l.msg === 'job completed');
      expect(verified.summary).toMatch(/^verified \d+ backup\(s\): all OK$/);
      // The success e-mail (onSuccess: always) with size, duration and SHA-256, sent with the SMTP login.
      const [success] = await smtp.waitForMails(1);
      expect(smtp.logins).toEqual([{ username: 'backups', password: 'smtp-Secret-1' }]);
      const manifests = path.join(cwd, 'store/backups/manifests/daily');
      const [manifestFile] = await readdir(manifests);
      const manifest = JSON.parse(await readFile(path.join(manifests, manifestFile!), 'utf8')) as { objects: { dump: { sha256: string; size: number } } };
      expect(success!.parsed.text).toContain(manifest.objects.dump.sha256);
      expect(success!.raw).not.toContain('smtp-Secret-1');

      // The monthly drill, queued by hand: its e-mail carries the PDF.
      const drill = await runCli(['run', 'drill', '--wait'], env, { cwd, timeoutMs: 400_000 });
      expect(drill.exitCode, String(drill.stderr)).toBe(0);
      expect(drill.stdout).toMatch(/drill drill-\S+: PASS/);
      const drillMail = (await smtp.waitForMails(2)).find((m) => m.parsed.attachments.some((a) => a.contentType === 'application/pdf'));
      expect(drillMail, smtp.mails.map((m) => m.parsed.subject).join(' | ')).toBeDefined();
      expect(drillMail!.parsed.attachments.find((a) => a.contentType === 'application/pdf')!.content.subarray(0, 5).toString()).toBe('%PDF-');

      // /metrics shows the figures of the jobs that ran.
      const scraped = await (await fetch(metricsUrl)).text();
      expect(scraped).toMatch(/^pgdrill_backup_last_success_timestamp_seconds\{database="oslrs"\} [1-9]/m);
      expect(scraped).toMatch(/^pgdrill_backup_duration_seconds_count\{database="oslrs"\} 1$/m);
      expect(scraped).toMatch(/^pgdrill_drill_last_success_timestamp_seconds\{database="oslrs"\} [1-9]/m);
      expect(scraped).toMatch(/^pgdrill_drill_rto_seconds\{database="oslrs"\} \d/m);

      const status = await runCli(['status', '--json'], env, { cwd });
      expect(status.exitCode, String(status.stderr)).toBe(0);
      const snapshot = JSON.parse(String(status.stdout)) as { healthy: boolean; databases: Array<{ database: string; lastBackup: { key: string } | null; nextRuns: Record<string, string> }> };
      expect(snapshot.healthy).toBe(true);
      expect(snapshot.databases[0]).toMatchObject({ database: 'oslrs', lastBackup: { key: expect.stringMatching(/^backups\/daily\//) } });
      expect(Object.keys(snapshot.databases[0]!.nextRuns).sort()).toEqual(['backup', 'drill']);
      // No secret in what the service printed.
      const log = service.lines().map((l) => JSON.stringify(l)).join('\n');
      expect(log).not.toContain(keys.split(':')[1]);
      expect(log).not.toContain(new URL(source.url).password);
    } finally {
      service.process.kill('SIGTERM');
      await smtp.stop();
    }
    const ended = await service.process;
    expect(ended.exitCode).toBe(143);
    expect(existsSync(path.join(cwd, '.pgdrill/redis.json'))).toBe(false);
  });

  it('run and status without a service or REDIS_URL: exit 3 saying to start `pgdrill serve`', async () => {
    const cwd = tempDir('no-service');
    const run = await runCli(['run', 'backup', '--wait'], baseEnv(path.join(cwd, 'store')), { cwd });
    expect(run.exitCode).toBe(3);
    expect(run.stderr).toContain('No Redis: REDIS_URL is not set and no pgdrill service runs');
    expect(run.stderr).toContain('pgdrill serve');
  });
});

describe('pgdrill worker on a shared Redis', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('retries a failing backup with the configured backoff, escalates warning → critical → page, recovers; a monitor fires once; SMTP down is counted', async () => {
    const cwd = tempDir('escalate');
    const storage = path.join(cwd, 'store');
    // Mail goes to a port nobody listens on: the backup must not care, the failure is counted.
    const prefix = {
      PGDRILL_RETRY_BACKOFF: '1,1,1',
      REDIS_URL: redis.url,
      PGDRILL_SMTP_URL: 'smtp://backups@127.0.0.1:9',
      PGDRILL_MAIL_FROM: 'backups@example.org',
      PGDRILL_NOTIFY_EMAIL: 'ops@example.org',
    };
    // diskFreeMinRatio 1: the disk-free monitor fires (no file system is 100 % free) — once per episode.
    await writeFile(path.join(cwd, 'pgdrill.config.json'), JSON.stringify({ service: { queuePrefix: 'escalate' }, monitors: { diskFreeMinRatio: 1 } }));
    // A source that refuses connections: every attempt fails fast.
    const broken = baseEnv(storage, { ...prefix, DATABASE_URL: 'postgres://app@127.0.0.1:1/oslrs', PGPASSWORD: 'x' });
    const worker = startService('worker', cwd, broken);
    try {
      await worker.waitFor((l) => l.msg === 'worker ready');
      for (const expected of ['warning', 'critical', 'page']) {
        const started = Date.now();
        const run = await runCli(['run', 'backup', '--database', 'oslrs', '--wait'], broken, { cwd });
        expect(run.exitCode).toBe(1);
        expect(run.stderr).toContain('Cannot connect to the source database 127.0.0.1:1/oslrs');
        // 4 attempts, 1 s apart.
        expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
        await worker.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith(`[${expected.toUpperCase()}] oslrs: backup failed`));
      }
      const attempts = worker.lines().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('[backup FAILED] oslrs, attempt '));
      expect(attempts.map((l) => /attempt (\d+ of \d+)/.exec(l.msg as string)?.[1])).toEqual(Array(3).fill(['1 of 4', '2 of 4', '3 of 4', '4 of 4']).flat());
      // Evaluated after each of the 12 failed attempts, the monitor notified once.
      const firing = worker.lines().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('[monitor firing] oslrs: disk-free'));
      expect(firing).toHaveLength(1);
    } finally {
      worker.process.kill('SIGTERM');
      await worker.process;
    }
    // Fixed: the same database backs up again, and the service says it recovered.
    const fixed = startService('worker', cwd, baseEnv(storage, prefix));
    try {
      await fixed.waitFor((l) => l.msg === 'worker ready');
      const run = await runCli(['run', 'backup', '--wait'], baseEnv(storage, prefix), { cwd });
      expect(run.exitCode, String(run.stderr)).toBe(0);
      await fixed.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('[RECOVERED] oslrs: backup succeeded again after 3 failure(s)'));
      // The backup was published although no e-mail could be sent; the failures are counted.
      await fixed.waitFor((l) => l.msg === 'notification not delivered' && l.notifier === 'email', 60_000);
      const status = await runCli(['status', '--json'], baseEnv(storage, prefix), { cwd });
      const snapshot = JSON.parse(String(status.stdout)) as { databases: Array<{ lastBackup: unknown }>; notificationFailures: Record<string, number> };
      expect(snapshot.databases[0]!.lastBackup).not.toBeNull();
      expect(snapshot.notificationFailures.email).toBeGreaterThanOrEqual(1);
    } finally {
      fixed.process.kill('SIGTERM');
      expect((await fixed.process).exitCode).toBe(143);
    }
  });

  it('two workers; the one running a backup is killed with SIGKILL: the other completes it, one backup published, no pg_dump left', async () => {
    const cwdA = tempDir('worker-a');
    const cwdB = tempDir('worker-b');
    const storage = tempDir('shared-store');
    const config = JSON.stringify({ service: { queuePrefix: 'kill', lockSeconds: 3 }, schedule: { prune: null, verify: null } });
    for (const cwd of [cwdA, cwdB]) await writeFile(path.join(cwd, 'pgdrill.config.json'), config);
    const env = baseEnv(storage, { REDIS_URL: redis.url, PGDRILL_RETRY_BACKOFF: '1,1,1' });
    const a = startService('worker', cwdA, env);
    await a.waitFor((l) => l.msg === 'worker ready');
    const queued = await runCli(['run', 'backup'], env, { cwd: cwdA });
    expect(queued.exitCode, String(queued.stderr)).toBe(0);
    await a.waitFor((l) => l.kind === 'backup' && l.msg === 'job started');
    // Mid-backup: pg_dump runs under worker A (its leftover record says so).
    let pgDump: number | undefined;
    for (let i = 0; pgDump === undefined && i < 200; i++) {
      const folder = path.join(cwdA, '.pgdrill/leftovers');
      for (const file of await readdir(folder)) {
        const record = JSON.parse(await readFile(path.join(folder, file), 'utf8').catch(() => '{}')) as { process?: { pid: number; program: string } };
        if (record.process?.program === 'pg_dump') pgDump = record.process.pid;
      }
      if (pgDump === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    expect(pgDump).toBeDefined();
    a.process.kill('SIGKILL');
    await a.process;

    const b = startService('worker', cwdB, env);
    try {
      await b.waitFor((l) => l.msg === 'worker ready');
      await b.waitFor((l) => l.kind === 'backup' && l.msg === 'job completed', 60_000);
      const list = await runCli(['list', '--json'], env, { cwd: cwdB });
      const backups = (JSON.parse(String(list.stdout)) as { backups: Array<{ tier: string }> }).backups.filter((x) => x.tier === 'daily');
      expect(backups).toHaveLength(1);
      // Worker A starts again on its machine: whatever its killed run left is swept first.
      const again = startService('worker', cwdA, env);
      try {
        await again.waitFor((l) => l.msg === 'worker ready');
        const stillDumping = existsSync(`/proc/${pgDump}`) && (await readFile(`/proc/${pgDump}/cmdline`, 'utf8').catch(() => '')).includes('pg_dump');
        expect(stillDumping).toBe(false);
        expect(await readdir(path.join(cwdA, '.pgdrill/leftovers'))).toEqual([]);
      } finally {
        again.process.kill('SIGTERM');
        await again.process;
      }
    } finally {
      b.process.kill('SIGTERM');
      await b.process;
    }
  });
});
