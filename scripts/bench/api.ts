// `pnpm bench --api [--backups 10000] [--requests 200] [--no-docs]`
//
// The admin API over a large catalog (issue 16): a folder store holding N backup manifests (one a
// day, going back N days; no data objects: history reads manifests only), the API server of
// `pgdrill serve` in this process with a private redis-server, requests over HTTP on 127.0.0.1:
//   1. the first GET /api/v1/backups?page=1 (cold: every manifest read and validated, the retention
//      plan computed);
//   2. `requests` more of the same, one after the other: p50, p95, max (target p95 < 200 ms);
//   3. the page in the system Chromium (puppeteer-core), logged in with a session cookie: from
//      navigation to the page marking itself ready (`body[data-ready]`: summary, history, drills,
//      chart and audit rendered), 5 loads, median and max (target < 1 s).
// Results go to stdout and are appended to docs/benchmarks.md unless --no-docs.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { launch } from 'puppeteer-core';
import { createApiToken, startApiServer } from '../../src/api/index.ts';
import { BackupManifest, backupId } from '../../src/catalog/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { CHROMIUM_ARGS } from '../../src/report/index.ts';
import { startEmbeddedRedis } from '../../src/service/index.ts';
import { median } from './measure.ts';

const SHA = 'c'.repeat(64);

function manifest(day: Date, index: number): BackupManifest {
  const id = backupId('daily', day, 'bench');
  const started = new Date(day.getTime() + 3_600_000);
  const durationMs = 60_000 + (index % 97) * 1000;
  return {
    formatVersion: 1,
    id,
    tier: 'daily',
    database: 'bench',
    source: { host: 'db.internal', port: 5432, user: 'backup' },
    serverVersion: '15.8',
    serverMajor: 15,
    pgDumpVersion: '15.8',
    toolVersion: '0.2.0',
    format: 'custom',
    compression: { algorithm: 'zstd', level: 1 },
    encryption: { algorithm: 'aes-256-gcm-stream-v1', keyId: 'k1', chunkSize: 1_048_576 },
    objects: { dump: { key: `backups/daily/${id}.dump.zst.enc`, size: 50_000_000 + index * 1000, sha256: SHA, plaintextSize: 200_000_000, plaintextSha256: SHA } },
    options: { schemaOnly: false, tables: [], excludeTables: [] },
    scope: 'full',
    startedAt: started.toISOString(),
    finishedAt: new Date(started.getTime() + durationMs).toISOString(),
    durationMs,
    tables: [{ schema: 'public', name: 'respondents', rows: 100_000 + index }],
    auditChain: null,
    roles: [],
    rolePasswords: false,
    schemaFingerprint: SHA,
    extensions: [],
  };
}

const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};
const ms = (value: number): string => `${value.toFixed(value < 10 ? 1 : 0)} ms`;

export interface ApiBenchResult {
  backups: number;
  requests: number;
  writeMs: number;
  coldMs: number;
  p50: number;
  p95: number;
  max: number;
  pageMedian: number;
  pageMax: number;
  table: string;
}

export async function benchApi(options: { backups: number; requests: number; log: (line: string) => void }): Promise<ApiBenchResult> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'pgdrill-bench-api-'));
  const redis = await startEmbeddedRedis(path.join(work, 'state'));
  const admin = createApiToken('bench', 'admin');
  let api: Awaited<ReturnType<typeof startApiServer>> | undefined;
  try {
    const folder = path.join(work, 'store', 'backups', 'manifests', 'daily');
    await mkdir(folder, { recursive: true });
    const written = performance.now();
    const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
    for (let start = 0; start < options.backups; start += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, options.backups - start) }, async (_, offset) => {
          const index = start + offset;
          const m = BackupManifest.parse(manifest(new Date(today - (options.backups - index) * 86_400_000), index));
          await writeFile(path.join(folder, `${m.id}.json`), `${JSON.stringify(m, null, 2)}\n`);
        }),
      );
    }
    const writeMs = performance.now() - written;
    options.log(`wrote ${options.backups} manifests in ${ms(writeMs)}`);
    // The server resolves each fleet database's configuration again from the environment, as `pgdrill serve` does.
    Object.assign(process.env, { DATABASE_URL: 'postgres://bench@127.0.0.1:1/bench', PGDRILL_STORAGE: path.join(work, 'store'), PGDRILL_API_TOKENS: admin.entry, PGDRILL_STATE_DIR: path.join(work, 'state') });
    const config = await loadConfig({ cwd: work });
    api = await startApiServer({ config, cwd: work, endpoint: redis.endpoint, log: pino({ level: 'warn' }), host: '127.0.0.1', port: 0 });
    const get = async (url: string): Promise<number> => {
      const began = performance.now();
      const response = await fetch(`${api!.url}${url}`, { headers: { authorization: `Bearer ${admin.token}` } });
      const body = (await response.json()) as { total?: number };
      if (response.status !== 200 || (url.startsWith('/api/v1/backups?') && body.total !== options.backups)) throw new Error(`${url}: HTTP ${response.status} ${JSON.stringify(body).slice(0, 300)}`);
      return performance.now() - began;
    };
    const coldMs = await get('/api/v1/backups?page=1');
    options.log(`first GET /api/v1/backups?page=1: ${ms(coldMs)}`);
    const times: number[] = [];
    for (let i = 0; i < options.requests; i++) times.push(await get('/api/v1/backups?page=1'));
    const [p50, p95, max] = [percentile(times, 50), percentile(times, 95), Math.max(...times)];
    options.log(`GET /api/v1/backups?page=1 × ${options.requests}: p50 ${ms(p50)}, p95 ${ms(p95)}, max ${ms(max)}`);

    const login = await fetch(`${api.url}/api/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: admin.token }) });
    const session = /pgdrill_session=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')?.[1];
    if (!session) throw new Error(`login failed: HTTP ${login.status}`);
    const browser = await launch({ executablePath: process.env.PUPPETEER_EXECUTABLE_PATH ?? '/usr/bin/chromium', args: [...CHROMIUM_ARGS], pipe: true });
    const loads: number[] = [];
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: 1280, height: 900 });
      await page.setCookie({ name: 'pgdrill_session', value: session, url: api.url });
      for (let i = 0; i < 6; i++) {
        const began = performance.now();
        await page.goto(`${api.url}/`);
        await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
        // The first load warms Chromium's own caches (fonts, compiled script): not counted.
        if (i > 0) loads.push(performance.now() - began);
      }
    } finally {
      await browser.close();
    }
    const pageMedian = median(loads);
    const pageMax = Math.max(...loads);
    options.log(`page interactive: median ${ms(pageMedian)}, max ${ms(pageMax)} over ${loads.length} loads`);
    const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
    const table = [
      '| measure | result | target |',
      '| --- | --- | --- |',
      `| first GET /api/v1/backups?page=1 over ${options.backups} manifests (cold) | ${ms(coldMs)} | — |`,
      `| GET /api/v1/backups?page=1, ${options.requests} requests: p50 / p95 / max | ${ms(p50)} / ${ms(p95)} / ${ms(max)} | p95 < 200 ms: ${verdict(p95 < 200)} |`,
      `| page interactive (navigation → summary, history, drills, chart, audit rendered), ${loads.length} loads: median / max | ${ms(pageMedian)} / ${ms(pageMax)} | < 1 s: ${verdict(pageMax < 1000)} |`,
    ].join('\n');
    return { backups: options.backups, requests: options.requests, writeMs, coldMs, p50, p95, max, pageMedian, pageMax, table };
  } finally {
    await api?.close();
    await redis.stop();
    await rm(work, { recursive: true, force: true });
  }
}
