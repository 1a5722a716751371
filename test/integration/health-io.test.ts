// The health module's I/O for real: free space measured on a small tmpfs filled past 80 %, the
// textfile replaced atomically under a concurrent reader, /metrics served over a real HTTP server
// on 127.0.0.1, the shipped alert rules evaluated by Prometheus's own promtool, and which modules
// importing src/health loads.
import { once } from 'node:events';
import { mkdirSync, statSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PgdrillConfig } from '../../src/config/index.ts';
import { PgdrillError } from '../../src/errors/index.ts';
import { createMetricsRegistry, diskFreeRatio, metricsHandler, writeTextfile, type HealthSnapshot } from '../../src/health/index.ts';
import { REPO_ROOT, tempDir } from '../helpers/pgdrill.ts';
import { parseExposition, sample } from '../helpers/prometheus.ts';

describe('diskFreeRatio on a 1 MiB tmpfs (needs root; skipped, with the reason, without)', () => {
  let mounted: string | undefined;
  let skipReason = '';
  beforeAll(async () => {
    const dir = tempDir('tmpfs');
    const result = await execa('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { reject: false });
    if (result.exitCode === 0) mounted = dir;
    else skipReason = `cannot mount a tmpfs: ${String(result.stderr).trim()}`;
  });
  afterAll(async () => {
    if (mounted) await execa('umount', [mounted]);
  });

  it('is near 1 when empty and below 0.2 once filled past 80 %, as df counts it, also for a folder not created yet', async ({ skip }) => {
    if (!mounted) skip(skipReason);
    const dir = mounted!;
    expect(await diskFreeRatio(dir)).toBeGreaterThan(0.95);
    await writeFile(path.join(dir, 'fill'), Buffer.alloc(860 * 1024, 1));
    const ratio = await diskFreeRatio(dir);
    expect(ratio).toBeLessThan(0.2);
    expect(ratio).toBeGreaterThan(0.05);
    const df = await execa('df', ['-B1', '--output=used,avail', dir]);
    const [used, avail] = df.stdout.trim().split('\n')[1]!.trim().split(/\s+/).map(Number) as [number, number];
    expect(ratio).toBeCloseTo(avail / (used + avail), 6);
    // A folder store before its first backup: measured where it will be created.
    expect(await diskFreeRatio(path.join(dir, 'store', 'not-yet'))).toBe(ratio);
  });
});

describe('writeTextfile', () => {
  const previousUmask = process.umask(0o077);
  afterAll(() => void process.umask(previousUmask));

  it('replaces the file in one step: a concurrent reader only ever sees a whole version; mode 0644; nothing left beside it', async () => {
    const dir = tempDir('textfile');
    const file = path.join(dir, 'pgdrill.prom');
    // Two versions of 2 MB: big enough that writing one in place takes several writes.
    const versions = ['a', 'b'].map((c) => `# HELP x test\n${`x{v="${c}"} 1\n`.repeat(150_000)}`);
    await writeTextfile(file, versions[0]!);
    let writing = true;
    const writer = (async () => {
      for (let i = 1; i <= 30; i += 1) await writeTextfile(file, versions[i % 2]!);
      writing = false;
    })();
    let reads = 0;
    const torn: number[] = [];
    while (writing) {
      const text = await readFile(file, 'utf8');
      reads += 1;
      if (!versions.includes(text)) torn.push(text.length);
    }
    await writer;
    expect(reads).toBeGreaterThan(5);
    expect(torn, `partial reads of ${reads}`).toEqual([]);
    expect(await readFile(file, 'utf8')).toBe(versions[0]);
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(await readdir(dir)).toEqual(['pgdrill.prom']);
  });

  it('a failed write names the file, removes its temp file and leaves what was there', async () => {
    const dir = tempDir('textfile-fail');
    const target = path.join(dir, 'pgdrill.prom');
    // A folder in the way: the final rename fails after the temp file was written.
    mkdirSync(path.join(target, 'inside'), { recursive: true });
    const error = await writeTextfile(target, 'x 1\n').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PgdrillError);
    expect((error as Error).message).toMatch(/^Cannot write the metrics textfile .*\/pgdrill\.prom: EISDIR.*Check that its folder exists and is writable/);
    expect(await readdir(dir)).toEqual(['pgdrill.prom']);
    expect(await readdir(target)).toEqual(['inside']);
    const missing = await writeTextfile(path.join(dir, 'no-such-folder', 'pgdrill.prom'), 'x 1\n').catch((e: unknown) => e);
    expect((missing as Error).message).toMatch(/no-such-folder\/pgdrill\.prom: ENOENT/);
  });
});

describe('metricsHandler over HTTP on 127.0.0.1', () => {
  const snapshot: HealthSnapshot = {
    at: '2026-11-23T06:00:00.000Z',
    databases: [
      {
        database: 'oslrs',
        lastBackup: { id: '2026-11-23-oslrs', key: 'k', takenAt: '2026-11-23T01:00:00.000Z', durationMs: 60_000, sizeBytes: 1234 },
        previousBackup: null,
        lastDrill: null,
        consecutiveFailures: { backup: 0, drill: 0, verify: 0, prune: 0, 'pitr-mark': 0 },
        runs: { backup: { success: 7, failure: 1 }, drill: { success: 0, failure: 0 }, verify: { success: 0, failure: 0 }, prune: { success: 0, failure: 0 }, 'pitr-mark': { success: 0, failure: 0 } },
        storageBytes: 9999,
        diskFree: [],
        nextRuns: {},
      },
    ],
    notificationFailures: {},
  };
  let server: Server | undefined;
  afterEach(async () => {
    server?.close();
    if (server) await once(server, 'close');
  });

  async function serve(listener: Parameters<typeof createServer>[1]): Promise<string> {
    server = createServer(listener);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('serves /metrics in the Prometheus text format, HEAD without a body, 404 elsewhere, 405 for other methods', async () => {
    const registry = await createMetricsRegistry();
    registry.observeBackupDuration('oslrs', 61);
    const base = await serve(metricsHandler(() => registry.render(snapshot, PgdrillConfig.parse({}))));

    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4(;|$)/);
    const metrics = parseExposition(await response.text());
    expect(sample(metrics, 'pgdrill_backup_runs_total', { database: 'oslrs', result: 'success' })).toBe(7);
    expect(sample(metrics, 'pgdrill_backup_duration_seconds_count', { database: 'oslrs' })).toBe(1);

    expect((await fetch(`${base}/metrics?ts=1`)).status).toBe(200);
    const head = await fetch(`${base}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(100);
    expect(await head.text()).toBe('');
    for (const wrong of ['/', '/metrics/', '/metricsx', '/favicon.ico']) expect((await fetch(`${base}${wrong}`)).status, wrong).toBe(404);
    const post = await fetch(`${base}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('answers 500 without the failure\'s text when rendering fails, and hands the failure to onError', async () => {
    const errors: unknown[] = [];
    const base = await serve(metricsHandler(() => Promise.reject(new Error('cannot list s3://bucket/secret-prefix')), (error) => errors.push(error)));
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(body).toBe('Metrics unavailable: see the service log\n');
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain('secret-prefix');
  });
});

describe('docs/monitoring under promtool (Debian\'s prometheus package; skipped, with the reason, without)', () => {
  it('the rules pass `promtool check rules` and alerts.test.yml (each alert at its limit) passes `promtool test rules`', async ({ skip }) => {
    const promtool = await execa('promtool', ['--version'], { reject: false });
    if (promtool.failed) skip('promtool is not installed (apt-get install prometheus)');
    const cwd = path.join(REPO_ROOT, 'docs/monitoring');
    const check = await execa('promtool', ['check', 'rules', 'alerts.yml', 'recording-rules.yml'], { cwd, reject: false });
    expect(check.exitCode, `${check.stdout}${check.stderr}`).toBe(0);
    const test = await execa('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd, reject: false });
    expect(test.exitCode, `${test.stdout}${test.stderr}`).toBe(0);
  });
});

describe('loading', () => {
  /** Runs a module script under the recording hook; whether prom-client was loaded. */
  async function loadsPromClient(script: string): Promise<boolean> {
    const log = path.join(tempDir('health-modules'), 'modules.txt');
    const hook = path.join(REPO_ROOT, 'test/helpers/record-modules.ts');
    const run = await execa(process.execPath, ['--import', hook, '--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      env: { PGDRILL_MODULE_LOG: log },
      reject: false,
    });
    expect(run.exitCode, run.stderr).toBe(0);
    const urls = (await readFile(log, 'utf8')).split('\n');
    expect(urls.some((url) => url.endsWith('/src/health/index.ts'))).toBe(true);
    return urls.some((url) => url.includes('/node_modules/prom-client/'));
  }
  const health = `const health = await import('./src/health/index.ts');`;

  it('importing src/health and evaluating monitors loads no prom-client; createMetricsRegistry does', async () => {
    expect(await loadsPromClient(`${health} health.evaluateMonitors({ at: '2026-11-23T00:00:00Z', databases: [], notificationFailures: {} }, { monitors: { backupMaxAgeHours: 26, sizeChangeRatio: 0.5, diskFreeMinRatio: 0.2, drillOverdueGraceDays: 2 }, drill: { intervalDays: 30 } }, new Date());`)).toBe(false);
    expect(await loadsPromClient(`${health} await health.createMetricsRegistry();`)).toBe(true);
  });
});
