// The admin API and page of `pgdrill serve`, with real parts: one serve (its private Redis) for a
// fleet of two databases on one real PostgreSQL source, one in s3rver, one in a folder; the API over
// HTTP, the page in the system Chromium (puppeteer-core). Screenshots of the main states are saved
// in .tmp/test-output/admin-page/ (git-ignored; or PGDRILL_SCREENSHOTS), kept after the run for a
// person to look at.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { launch, type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken, hashPassword } from '../../src/api/index.ts';
import { backupId, dataKey, extensionOfDataKey, readManifest, writeManifest, type BackupManifest } from '../../src/catalog/index.ts';
import { CHROMIUM_ARGS } from '../../src/report/index.ts';
import { createStorageFromUrl, type BackupStorage } from '../../src/storage/index.ts';
import { startSourceDatabase, type SourceDatabase } from '../helpers/postgres.ts';
import { newKeyring, REPO_ROOT, runCli, tempDir } from '../helpers/pgdrill.ts';
import { startS3Server, type StartedS3Server } from '../helpers/s3.ts';
import { startService, type Service } from '../helpers/service.ts';

const PASSWORD = 'correct horse battery staple';
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

let source: SourceDatabase;
let s3: StartedS3Server;
let service: Service;
let base: string;
let cwd: string;
let env: Record<string, string>;
let folder: string;
let passwordHash: string;
const admin = createApiToken('ops', 'admin');
const viewer = createApiToken('auditor', 'viewer');
const keys = newKeyring('k1');
/** Every response body and header value seen, checked for secrets at the end. */
const seen: string[] = [];

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown> & { message?: string };
}

async function call(method: string, url: string, options: { token?: string; cookie?: string; csrf?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.cookie) headers.cookie = options.cookie;
  if (options.csrf) headers['x-csrf-token'] = options.csrf;
  if (options.body !== undefined || options.raw !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${url}`, { method, headers, body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)), redirect: 'manual' });
  const text = await response.text();
  seen.push(text, ...[...response.headers.entries()].map(([name, value]) => `${name}: ${value}`));
  let json: Answer['json'] = {};
  try {
    json = JSON.parse(text) as Answer['json'];
  } catch {
    // not JSON (the page, a stream)
  }
  return { status: response.status, headers: response.headers, text, json };
}

async function waitForJob(job: string, timeoutMs = 180_000): Promise<Record<string, unknown>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { json } = await call('GET', `/api/v1/jobs/${job}`, { token: admin.token });
    if (json.state === 'completed' || json.state === 'failed') return json;
    if (Date.now() > until) throw new Error(`job ${job} did not end within ${timeoutMs} ms: ${JSON.stringify(json)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function login(body: Record<string, string>, headers?: Record<string, string>): Promise<{ cookie: string; csrf: string; answer: Answer }> {
  const answer = await call('POST', '/api/v1/login', { body, headers });
  const setCookie = answer.headers.get('set-cookie') ?? '';
  return { cookie: setCookie.split(';')[0]!, csrf: String(answer.json.csrfToken ?? ''), answer };
}

beforeAll(async () => {
  [source, s3] = await Promise.all([startSourceDatabase({ rows: 2000 }), startS3Server()]);
  passwordHash = await hashPassword(PASSWORD);
  cwd = tempDir('admin-api');
  folder = path.join(cwd, 'folder-store');
  await writeFile(
    path.join(cwd, 'pgdrill.config.json'),
    JSON.stringify({
      databases: [
        { name: 'oslrs', urlEnv: 'DATABASE_URL' },
        { name: 'local', urlEnv: 'DATABASE_URL', storage: { url: folder } },
        // Nothing listens on port 1: its backups fail (the last test), after one retry 4 s later.
        { name: 'broken', urlEnv: 'BROKEN_DATABASE_URL', storage: { url: folder } },
      ],
      schedule: { backup: '0 1 * * *', drill: null, prune: null, verify: null },
      service: { queuePrefix: 'apitest', retryBackoffSeconds: [4], api: { emergencyContact: 'Ops on call, +234 800 000 0000' } },
      report: { organisation: 'Test Registry', system: 'OSLRS', rtoTargetMinutes: 30 },
    }),
  );
  env = {
    DATABASE_URL: source.url,
    BROKEN_DATABASE_URL: 'postgres://pgdrill@127.0.0.1:1/broken',
    PGDRILL_STORAGE: `s3://${s3.bucket}/site`,
    S3_ENDPOINT: s3.endpoint,
    S3_REGION: s3.region,
    S3_ACCESS_KEY: s3.credentials.accessKeyId,
    S3_SECRET_KEY: s3.credentials.secretAccessKey,
    PGDRILL_ENCRYPTION_KEYS: keys,
    PGDRILL_API_TOKENS: `${admin.entry},${viewer.entry}`,
    PGDRILL_API_PASSWORD_HASH: passwordHash,
    PGDRILL_SANDBOX: 'embedded',
    PUPPETEER_EXECUTABLE_PATH: '/usr/bin/chromium',
    PGDRILL_CANARY_PASSWORD: source.canaryPassword,
  };
  service = startService('serve', cwd, env, ['--port', '0']);
  base = String((await service.waitFor((l) => l.msg === 'admin API and page')).url);
});

afterAll(async () => {
  service?.process.kill('SIGTERM');
  await service?.process;
  await Promise.all([source?.stop(), s3?.stop()]);
});

describe('admin API security', () => {
  it('healthz needs no login; everything else 401 without credentials or with a wrong token', async () => {
    expect((await call('GET', '/healthz')).json).toEqual({ status: 'ok' });
    expect((await call('GET', '/api/v1/healthz')).status).toBe(200);
    const none = await call('GET', '/api/v1/backups');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="pgdrill"');
    expect((await call('GET', '/api/v1/backups', { token: 'pgdrill_not-a-token' })).status).toBe(401);
    expect((await call('GET', '/api/v1/backups', { cookie: 'pgdrill_session=forged' })).status).toBe(401);
    expect((await call('GET', '/api/v1/backups', { token: viewer.token })).status).toBe(200);
  });

  it('a viewer on an admin route: 403', async () => {
    const trigger = await call('POST', '/api/v1/backups', { token: viewer.token, body: {} });
    expect(trigger.status).toBe(403);
    expect(trigger.json.message).toBe('auditor is a viewer: this needs the admin role');
    expect((await call('GET', '/api/v1/backups/oslrs:daily:2026-01-01-oslrs/download', { token: viewer.token })).status).toBe(403);
    expect((await call('DELETE', '/api/v1/backups/oslrs:daily:2026-01-01-oslrs', { token: viewer.token, body: { reason: 'test' } })).status).toBe(403);
    expect((await call('POST', '/api/v1/drills', { token: viewer.token, body: {} })).status).toBe(403);
  });

  it('a page session: HttpOnly SameSite=Strict cookie; POST without its CSRF token 403; password login; logout ends it', async () => {
    const { cookie, csrf, answer } = await login({ password: PASSWORD });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ name: 'admin (password)', role: 'admin' });
    expect(answer.headers.get('set-cookie')).toMatch(/^pgdrill_session=[\w-]{43}; Max-Age=28800; Path=\/; HttpOnly; SameSite=Strict$/);
    expect((await call('GET', '/api/v1/session', { cookie })).json).toMatchObject({ name: 'admin (password)', csrfToken: csrf });
    const noCsrf = await call('POST', '/api/v1/backups', { cookie, body: { database: 'oslrs' } });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.json.message).toContain('CSRF');
    expect((await call('DELETE', '/api/v1/backups/oslrs:daily:2026-01-01-oslrs', { cookie, csrf: 'wrong', body: { reason: 'nope' } })).status).toBe(403);
    // With the token the request gets past the CSRF check (to the 404 of a backup that does not exist).
    expect((await call('DELETE', '/api/v1/backups/oslrs:daily:2026-01-01-oslrs', { cookie, csrf, body: { reason: 'nope' } })).status).toBe(404);
    expect((await call('POST', '/api/v1/logout', { cookie, csrf })).status).toBe(204);
    expect((await call('GET', '/api/v1/session', { cookie })).status).toBe(401);
    expect((await login({ password: 'wrong password' })).answer.status).toBe(401);
  });

  it('ids that are not backup ids, or lead out of the key layout: 400', async () => {
    for (const id of ['..%2F..%2Fetc%2Fpasswd', 'oslrs:daily:..', 'oslrs:daily:..%2Fmanifests%2Fx', 'oslrs:hourly:2026-01-01-oslrs', 'oslrs:daily:a%2Fb', 'oslrs:daily:%2Fetc%2Fpasswd', 'oslrs:daily:x%00y']) {
      const answer = await call('GET', `/api/v1/backups/${id}`, { token: admin.token });
      expect(answer.status, id).toBe(400);
      expect(answer.json.message, id).toMatch(/is not a backup id/);
    }
    expect((await call('GET', '/api/v1/drills/oslrs:..%2F..%2Fsecret/report.pdf', { token: admin.token })).status).toBe(400);
    expect((await call('GET', '/api/v1/jobs/backup:1%2F..', { token: admin.token })).status).toBe(400);
    expect((await call('GET', '/api/v1/backups/nope:daily:2026-01-01-nope', { token: admin.token })).status).toBe(404);
  });

  it('a request body over the limit: 413', async () => {
    const answer = await call('DELETE', '/api/v1/backups/oslrs:daily:2026-01-01-oslrs', { token: admin.token, raw: JSON.stringify({ reason: 'x'.repeat(20_000) }) });
    expect(answer.status).toBe(413);
  });

  it('login attempts are limited per client: the 6th within a minute is 429 with Retry-After', async () => {
    // The proxy header is trusted from loopback only: here it makes this test a client of its own.
    const client = { 'x-forwarded-for': '203.0.113.77' };
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await login({ token: 'pgdrill_wrong' }, client)).answer.status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const limited = await login({ token: admin.token }, client);
    expect(limited.answer.status).toBe(429);
    expect(Number(limited.answer.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another client is not affected.
    expect((await login({ token: admin.token }, { 'x-forwarded-for': '203.0.113.78' })).answer.status).toBe(200);
  });

  it('security headers on the page and the API: CSP without inline script, nosniff, frame deny', async () => {
    for (const url of ['/', '/admin.js', '/api/v1/backups', '/api/v1/openapi.json']) {
      const { headers } = await call('GET', url);
      const csp = headers.get('content-security-policy') ?? '';
      expect(csp, url).toContain("script-src 'self'");
      expect(csp, url).toContain("frame-ancestors 'none'");
      expect(csp, url).not.toContain('unsafe-inline');
      expect(headers.get('x-content-type-options'), url).toBe('nosniff');
      expect(headers.get('x-frame-options'), url).toBe('DENY');
    }
    const page = await call('GET', '/');
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page.text).not.toMatch(/\sstyle=|\son[a-z]+=/i);
    expect(page.text).not.toMatch(/https?:\/\//);
  });

  it('binds 127.0.0.1 by default; --host 0.0.0.0 without an https publicUrl warns that credentials would cross in clear text', async () => {
    expect(new URL(base).hostname).toBe('127.0.0.1');
    // A second deployment of its own (its own state folder and private Redis), exposed.
    const exposedCwd = tempDir('admin-api-exposed');
    const exposed = startService('serve', exposedCwd, { DATABASE_URL: source.url, PGDRILL_STORAGE: path.join(exposedCwd, 'store'), PGDRILL_ENCRYPTION_KEYS: keys, PGDRILL_API_TOKENS: admin.entry }, ['--port', '0', '--host', '0.0.0.0']);
    try {
      const listening = await exposed.waitFor((l) => l.msg === 'admin API and page');
      expect(new URL(String(listening.url)).hostname).toBe('0.0.0.0');
      // Logged right after the line above.
      const warning = await exposed.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('the admin API is exposed on 0.0.0.0'), 10_000);
      expect(warning.msg).toContain('cross the network in clear text');
      expect(warning.msg).toContain('service.api.publicUrl (PGDRILL_API_PUBLIC_URL)');
    } finally {
      exposed.process.kill('SIGTERM');
      await exposed.process;
    }
    // The default deployment, on loopback, said nothing of the kind.
    expect(service.lines().some((l) => typeof l.msg === 'string' && l.msg.includes('clear text'))).toBe(false);
  });

  it('`pgdrill tokens create` prints the token once and its entry (name:role:sha256); --json gives both; a wrong role is a config error', async () => {
    const json = await runCli(['tokens', 'create', '--name', 'ci', '--role', 'viewer', '--json'], {}, { cwd });
    expect(json.exitCode, String(json.stderr)).toBe(0);
    const created = JSON.parse(String(json.stdout)) as { token: string; entry: string };
    expect(Object.keys(created).sort()).toEqual(['entry', 'token']);
    expect(created.token).toMatch(/^pgdrill_[\w-]{43}$/);
    expect(created.entry).toBe(`ci:viewer:${sha256(created.token)}`);
    const plain = await runCli(['tokens', 'create', '--name', 'ops2', '--role', 'admin'], {}, { cwd });
    const [tokenLine, entryLine] = String(plain.stdout).trim().split('\n');
    const token = /^token: (\S+)$/.exec(tokenLine!)![1]!;
    expect(entryLine).toBe(`entry: ops2:admin:${sha256(token)}`);
    expect(String(plain.stderr)).toContain('The token is shown only now');
    const wrong = await runCli(['tokens', 'create', '--name', 'x', '--role', 'root'], {}, { cwd });
    expect(wrong.exitCode).toBe(3);
    expect(String(wrong.stderr)).toContain('--role "root" is not a role');
  });

  it('the OpenAPI document describes every route with its schemas', async () => {
    const { json } = await call('GET', '/api/v1/openapi.json');
    const paths = json.paths as Record<string, Record<string, { parameters: Array<{ name: string }>; security: unknown[] }>>;
    expect(json.openapi).toBe('3.1.0');
    expect(Object.keys(paths)).toEqual(expect.arrayContaining(['/api/v1/backups', '/api/v1/backups/{id}', '/api/v1/backups/{id}/download', '/api/v1/drills/{id}/report.pdf', '/api/v1/jobs/{id}', '/api/v1/status']));
    expect(paths['/api/v1/backups']!.get!.parameters.map((p) => p.name)).toEqual(['page', 'limit', 'database', 'tier', 'status', 'from', 'to', 'sort', 'order']);
    expect(paths['/api/v1/healthz']!.get!.security).toEqual([]);
  });
});

describe('admin API: backups, downloads, deletions, drills, audit', () => {
  let oslrsRef: string;
  let localRef: string;

  it('POST /backups queues a backup (202 with the job); the job ends; the second within the hour is 429 with Retry-After', async () => {
    const queued = await call('POST', '/api/v1/backups', { token: admin.token, body: { database: 'oslrs' } });
    expect(queued.status, queued.text).toBe(202);
    expect(queued.json).toMatchObject({ job: expect.stringMatching(/^backup:\d+$/), database: 'oslrs', status: 'queued' });
    expect(queued.headers.get('location')).toBe(`/api/v1/jobs/${String(queued.json.job)}`);
    const job = await waitForJob(String(queued.json.job));
    expect(job, JSON.stringify(job)).toMatchObject({ state: 'completed', database: 'oslrs', kind: 'backup', trigger: 'manual', summary: expect.stringMatching(/^backup backups\/oslrs\/daily\//) });
    const again = await call('POST', '/api/v1/backups', { token: admin.token, body: { database: 'oslrs' } });
    expect(again.status).toBe(429);
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(3500);
    expect(again.json.message).toMatch(/^A manual backup of oslrs was started .* ago: at most one every 60 min/);
    // Without a database the fleet of two needs one named.
    expect((await call('POST', '/api/v1/backups', { token: admin.token, body: {} })).status).toBe(400);
  });

  it('GET /backups: the new backup with size, SHA-256, duration, expiry and why it may not be deleted; filters, sort, pages, summary', async () => {
    // The folder database's backup through the CLI (not rate-limited: `pgdrill run`).
    const run = await runCli(['run', 'backup', '--database', 'local', '--wait'], env, { cwd });
    expect(run.exitCode, String(run.stderr)).toBe(0);
    const list = await call('GET', '/api/v1/backups', { token: viewer.token });
    expect(list.status).toBe(200);
    const items = list.json.items as Array<Record<string, unknown>>;
    const ok = items.filter((i) => i.status === 'ok');
    expect(ok.map((i) => i.database).sort()).toEqual(['local', 'oslrs']);
    const oslrs = ok.find((i) => i.database === 'oslrs')!;
    oslrsRef = String(oslrs.id);
    localRef = String(ok.find((i) => i.database === 'local')!.id);
    expect(oslrs).toMatchObject({
      id: expect.stringMatching(/^oslrs:daily:\d{4}-\d{2}-\d{2}-oslrs$/),
      tier: 'daily',
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      size: expect.stringMatching(/\d/),
      duration: expect.any(String),
      scope: 'full',
      expiry: { at: null, reason: expect.stringContaining('kept: newest valid backup') },
      deletable: { allowed: false, forceable: false, reason: expect.stringMatching(/old: a backup younger than 24 h is never deleted here$/) },
    });
    expect(list.json.summary).toMatchObject({ count: 2, lastSuccessful: { badge: 'green' }, nextScheduled: { kind: 'backup', at: expect.stringMatching(/T01:00:00/) } });
    const filtered = await call('GET', '/api/v1/backups?database=local&tier=daily&status=ok&limit=1&sort=size&order=asc', { token: viewer.token });
    expect(filtered.json).toMatchObject({ total: 1, pages: 1, limit: 1, items: [{ database: 'local' }], summary: { count: 1 } });
    expect((await call('GET', '/api/v1/backups?tier=monthly', { token: viewer.token })).json.total).toBe(0);
    expect((await call('GET', '/api/v1/backups?from=2000-01-01&to=2000-12-31', { token: viewer.token })).json.total).toBe(0);
    expect((await call('GET', '/api/v1/backups?limit=1&page=2', { token: viewer.token })).json).toMatchObject({ page: 2, pages: 2 });
    expect((await call('GET', '/api/v1/backups?limit=5000', { token: viewer.token })).status).toBe(400);
    expect((await call('GET', '/api/v1/backups?tier=hourly', { token: viewer.token })).status).toBe(400);
    const detail = await call('GET', `/api/v1/backups/${oslrsRef}`, { token: viewer.token });
    expect(detail.json).toMatchObject({ id: oslrsRef, database: 'oslrs', manifest: { id: oslrsRef.split(':')[2], tier: 'daily', objects: { dump: { sha256: oslrs.sha256 } } } });
  });

  it('download from S3: a presigned URL valid 15 minutes whose bytes hash to the manifest; `pgdrill decrypt` gives the plaintext the manifest names', async () => {
    const answer = await call('GET', `/api/v1/backups/${oslrsRef}/download`, { token: admin.token });
    expect(answer.status).toBe(200);
    const info = answer.json as { method: string; url: string; expiresAt: string; sha256: string; decrypt: string; key: string };
    expect(info.method).toBe('presigned-url');
    expect(info.url.startsWith(`${s3.endpoint}/${s3.bucket}/site/backups/oslrs/daily/`)).toBe(true);
    expect(new URL(info.url).searchParams.get('X-Amz-Expires')).toBe('900');
    expect(info.decrypt).toContain('pgdrill decrypt');
    const bytes = Buffer.from(await (await fetch(info.url)).arrayBuffer());
    expect(sha256(bytes)).toBe(info.sha256);
    const { json: detail } = await call('GET', `/api/v1/backups/${oslrsRef}`, { token: admin.token });
    const manifest = detail.manifest as BackupManifest;
    expect(info.sha256).toBe(manifest.objects.dump.sha256);
    const file = path.join(cwd, path.basename(info.key));
    await writeFile(file, bytes);
    const decrypted = await runCli(['decrypt', file, '--out', `${file}.dump`], env, { cwd });
    expect(decrypted.exitCode, String(decrypted.stderr)).toBe(0);
    expect(sha256(await readFile(`${file}.dump`))).toBe(manifest.objects.dump.plaintextSha256);
    // A tampered download is refused (exit 4) and nothing is written.
    bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 1;
    await writeFile(file, bytes);
    const tampered = await runCli(['decrypt', file, '--out', `${file}.bad`], env, { cwd });
    expect(tampered.exitCode).toBe(4);
  });

  it('download from a folder store: streamed by the API, same bytes as the manifest says', async () => {
    const answer = await call('GET', `/api/v1/backups/${localRef}/download`, { token: admin.token });
    const info = answer.json as { method: string; url: string; sha256: string };
    expect(info.method).toBe('stream');
    expect(info.url).toBe(`/api/v1/backups/${encodeURIComponent(localRef)}/download/file`);
    const response = await fetch(`${base}${info.url}`, { headers: { authorization: `Bearer ${admin.token}` } });
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="\d{4}-\d{2}-\d{2}-oslrs\.dump\.zst\.enc"$/);
    expect(sha256(Buffer.from(await response.arrayBuffer()))).toBe(info.sha256);
    expect((await fetch(`${base}${info.url}`, { headers: { authorization: `Bearer ${viewer.token}` } })).status).toBe(403);
  });

  it('DELETE: 409 with the reason for a fresh backup and for a monthly inside retention (unless force); an older daily goes, manifest first', async () => {
    const fresh = await call('DELETE', `/api/v1/backups/${localRef}`, { token: admin.token, body: { reason: 'cleanup' } });
    expect(fresh.status).toBe(409);
    expect(fresh.json.message).toMatch(new RegExp(`^Refused to delete ${localRef}: it is .* old: a backup younger than 24 h is never deleted here$`));
    expect((await call('DELETE', `/api/v1/backups/${localRef}`, { token: admin.token, body: {} })).status).toBe(400);

    // An older daily and a monthly copy of two months ago, made from the real backup's objects.
    const storage = createStorageFromUrl(folder, { region: 'us-east-1' });
    try {
      const { ref: older } = await copyLocalBackup(storage, localRef, 'daily', new Date(Date.now() - 3 * 86_400_000));
      const { ref: monthly } = await copyLocalBackup(storage, localRef, 'monthly', new Date(Date.now() - 62 * 86_400_000));
      const refused = await call('DELETE', `/api/v1/backups/${monthly}`, { token: admin.token, body: { reason: 'space' } });
      expect(refused.status).toBe(409);
      expect(refused.json.message).toMatch(/inside its retention period \(kept: monthly \d{4}-\d{2}\); deleting it needs force: true and a reason/);
      const forced = await call('DELETE', `/api/v1/backups/${monthly}`, { token: admin.token, body: { reason: 'test data of the suite', force: true } });
      expect(forced.status, forced.text).toBe(200);
      const deleted = await call('DELETE', `/api/v1/backups/${older}`, { token: admin.token, body: { reason: 'superseded test copy' } });
      expect(deleted.status, deleted.text).toBe(200);
      expect(deleted.json.keys).toHaveLength(2);
      for (const key of deleted.json.keys as string[]) expect(await storage.head(key)).toBeUndefined();
      expect((await call('GET', `/api/v1/backups/${older}`, { token: admin.token })).status).toBe(404);
      // The real backup is untouched.
      expect((await call('GET', `/api/v1/backups/${localRef}`, { token: admin.token })).status).toBe(200);
    } finally {
      await storage.close();
    }
  });

  it('POST /drills runs the restore drill; GET /drills lists it with its verdict; the PDF and the sandboxed HTML report are served', async () => {
    const queued = await call('POST', '/api/v1/drills', { token: admin.token, body: { database: 'oslrs' } });
    expect(queued.status, queued.text).toBe(202);
    const job = await waitForJob(String(queued.json.job), 400_000);
    expect(job.state, JSON.stringify(job)).toBe('completed');
    const { json } = await call('GET', '/api/v1/drills', { token: viewer.token });
    const [drill] = json.items as Array<{ id: string; verdict: string; pdf: string; html: string; backup: string }>;
    expect(drill).toMatchObject({ id: expect.stringMatching(/^oslrs:drill-/), verdict: 'PASS', backup: `daily/${oslrsRef.split(':')[2]}` });
    const pdf = await fetch(`${base}${drill!.pdf}`, { headers: { authorization: `Bearer ${viewer.token}` } });
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(Buffer.from(await pdf.arrayBuffer()).subarray(0, 5).toString()).toBe('%PDF-');
    const html = await fetch(`${base}${drill!.html}`, { headers: { authorization: `Bearer ${viewer.token}` } });
    expect(html.headers.get('content-security-policy')).toMatch(/sandbox$/);
    expect(await html.text()).toContain(drill!.id.split(':')[1]);
    expect((await call('GET', `/api/v1/drills/${drill!.id}`, { token: viewer.token })).json).toMatchObject({ drillId: drill!.id.split(':')[1], verdict: 'PASS' });
  });

  it('the audit trail records triggers, refusals, downloads, deletions and failed logins, hash-chained in storage', async () => {
    const { json } = await call('GET', '/api/v1/audit?limit=500', { token: viewer.token });
    const items = json.items as Array<{ seq: number; action: string; outcome: string; actor: string; target: string | null; sha256: string; previousSha256: string | null }>;
    expect(json.chain).toEqual({ ok: true, checked: items.length, problems: [] });
    const actions = new Set(items.map((i) => `${i.action}/${i.outcome}`));
    for (const expected of ['login.failure/refused', 'login/ok', 'backup.trigger/ok', 'backup.trigger/refused', 'backup.download/ok', 'backup.delete/refused', 'backup.delete/ok', 'drill.trigger/ok']) {
      expect(actions, expected).toContain(expected);
    }
    // Newest first, consecutive, each naming the previous one's hash.
    for (let i = 0; i + 1 < items.length; i++) {
      expect(items[i]!.seq).toBe(items[i + 1]!.seq + 1);
      expect(items[i]!.previousSha256).toBe(items[i + 1]!.sha256);
    }
    expect(items.at(-1)).toMatchObject({ seq: 1, previousSha256: null });
    // The records in storage are the ones the API shows.
    const storage = createStorageFromUrl(`s3://${s3.bucket}/site`, { endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials });
    try {
      const keys: string[] = [];
      for await (const object of storage.list('backups/audit/')) keys.push(object.key);
      expect(keys).toHaveLength(items.length);
      const last = await readAll(storage, keys.at(-1)!);
      expect(sha256(last)).toBe(items[0]!.sha256);
    } finally {
      await storage.close();
    }
  });
});

/** A copy of the folder database's backup `ref` (its objects and manifest) as a backup of `tier` taken `at`: its ref and data key. */
async function copyLocalBackup(storage: BackupStorage, ref: string, tier: 'daily' | 'monthly', at: Date): Promise<{ ref: string; key: string }> {
  const prefix = 'backups/local';
  const source = await readManifest(storage, `${prefix}/manifests/daily/${ref.split(':')[2]}.json`);
  const id = backupId(tier, at, source.database);
  const key = dataKey(prefix, tier, id, extensionOfDataKey(source.objects.dump.key, source.id));
  await storage.copy(source.objects.dump.key, key);
  const stamp = at.toISOString();
  await writeManifest(storage, prefix, { ...source, id, tier, startedAt: stamp, finishedAt: stamp, objects: { dump: { ...source.objects.dump, key } } });
  return { ref: `local:${tier}:${id}`, key };
}

async function readAll(storage: BackupStorage, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await storage.get(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Clicks a control inside the history table. The table is rebuilt whenever a load of it answers,
 * and a load started before a filter change can answer after the row was found: the found node is
 * then detached, and the click goes to the same control in the rebuilt table, as a person's second
 * click would.
 */
async function clickInTable(page: Page, selector: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await page.click(selector);
      return;
    } catch (error) {
      if (attempt === 5 || !/detached/i.test(String(error))) throw error;
      await page.waitForSelector(selector);
    }
  }
}

describe('admin page in Chromium', () => {
  let browser: Browser;
  let shots: string;
  beforeAll(async () => {
    // Not under the run's temp root, which the global teardown removes: a person looks at them after the run.
    shots = process.env.PGDRILL_SCREENSHOTS ?? path.join(REPO_ROOT, '.tmp', 'test-output', 'admin-page');
    await mkdir(shots, { recursive: true });
    browser = await launch({ executablePath: '/usr/bin/chromium', args: [...CHROMIUM_ARGS], pipe: true });
  });
  afterAll(async () => {
    await browser?.close();
    console.log(`[admin page] screenshots in ${shots}`);
  });

  let pageClients = 0;
  async function openPage(secret: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    await page.setViewport(viewport);
    // Each page logs in as a client of its own (the proxy header is trusted from loopback): the
    // login limit, 5 a minute per client, then does not depend on how fast the tests before ran.
    await page.setExtraHTTPHeaders({ 'x-forwarded-for': `198.51.100.${++pageClients}` });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    page.on('console', (message) => message.type() === 'error' && !/status of (401|409|429)/.test(message.text()) && errors.push(message.text()));
    await page.goto(`${base}/`, { waitUntil: 'networkidle0' });
    await page.waitForSelector('#login-secret', { visible: true });
    await page.type('#login-secret', secret);
    await page.keyboard.press('Enter');
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    expect(errors).toEqual([]);
    return page;
  }

  const text = (page: Page, selector: string) => page.$eval(selector, (node) => node.textContent ?? '');

  it('an admin logs in, sees the summary and history, backs up now and watches it finish, downloads, is refused a delete with the reason', async () => {
    const page = await openPage(admin.token);
    expect(await text(page, '#who')).toBe('ops (admin)');
    expect(await text(page, '#card-last-badge')).toBe('on time');
    expect(await text(page, '#card-drill-verdict')).toBe('PASS');
    expect(await text(page, '#card-next-when')).toMatch(/01:00 UTC$/);
    expect(await page.$$eval('#history tbody tr', (rows) => rows.length)).toBeGreaterThanOrEqual(2);
    expect(await text(page, '#restore')).toContain('Ops on call, +234 800 000 0000');
    expect(await text(page, '#restore')).toContain('pgdrill restore --latest --target-db');
    expect(await page.$$eval('#chart svg rect', (bars) => bars.length)).toBeGreaterThanOrEqual(2);
    // The audit trail, newest first: this very login on top.
    expect(await text(page, '#audit-chain')).toMatch(/^Hash chain intact over the \d+ newest record\(s\)\.$/);
    expect(await page.$$eval('#audit tbody tr:first-child td', (cells) => cells.slice(2, 4).map((c) => c.textContent))).toEqual(['ops (admin)', 'login']);
    await page.screenshot({ path: path.join(shots, '1-admin-summary.png'), fullPage: true });

    // Back up now (the folder database, not rate-limited yet): confirm, then live progress until it ends.
    await page.select('#backup-database', 'local');
    await page.click('#backup-now');
    await page.waitForSelector('#confirm[open]');
    expect(await text(page, '#confirm-text')).toContain('Start a backup of local now');
    await page.screenshot({ path: path.join(shots, '2-confirm-backup.png') });
    await page.click('#confirm-ok');
    await page.waitForFunction("document.querySelector('#progress').textContent.startsWith('Backup ')", { timeout: 10_000 });
    await page.waitForSelector('#progress[data-state="completed"]', { timeout: 120_000 });
    expect(await text(page, '#progress')).toMatch(/^Backup finished: backup backups\/local\/daily\//);
    // The history and the summary show it at once (the job's end invalidated the cached catalog).
    const newId = `local:daily:${/daily\/(\S+)\.dump/.exec(await text(page, '#progress'))![1]}`;
    await page.waitForSelector(`#history tbody tr[data-id="${newId}"]`, { timeout: 5000 });
    expect(await text(page, '#page-info')).toMatch(/· 3 item\(s\)$/);
    await page.screenshot({ path: path.join(shots, '3-backup-finished.png'), fullPage: true });

    // Download the S3 backup: the dialog's link is a presigned URL whose bytes hash to the manifest.
    const row = `#history tbody tr[data-id="${s3BackupRef()}"]`;
    await clickInTable(page, `${row} button[aria-label^="Download"]`);
    await page.waitForSelector('#download[open]');
    const href = await page.$eval('#download-link', (a) => (a as unknown as { href: string }).href);
    const shown = await text(page, '#download-sha');
    expect(sha256(Buffer.from(await (await fetch(href)).arrayBuffer()))).toBe(shown);
    const manifest = (await call('GET', `/api/v1/backups/${s3BackupRef()}`, { token: admin.token })).json.manifest as BackupManifest;
    expect(shown).toBe(manifest.objects.dump.sha256);
    await page.screenshot({ path: path.join(shots, '4-download.png') });
    await page.click('#download-close');

    // Delete the fresh backup: refused, the reason shown (the button says so before too).
    const deleteButton = `${row} button[aria-label^="Delete"]`;
    expect(await page.$eval(deleteButton, (b) => [b.getAttribute('aria-disabled'), b.getAttribute('title')])).toEqual(['true', expect.stringContaining('younger than 24 h')]);
    await page.focus(deleteButton);
    await page.keyboard.press('Enter');
    await page.waitForFunction("document.querySelector('#history-message').textContent.startsWith('Cannot delete')");
    expect(await text(page, '#history-message')).toMatch(/^Cannot delete oslrs:daily:.*: it is .* old: a backup younger than 24 h is never deleted here$/);
    await page.screenshot({ path: path.join(shots, '5-delete-refused.png') });

    // The drill list links open the PDF.
    const pdfLink = await page.$eval('#drills tbody a', (a) => (a as unknown as { href: string }).href);
    const pdf = await page.evaluate(async (url) => {
      const response = await fetch(url);
      const bytes = new Uint8Array(await response.arrayBuffer());
      return { type: response.headers.get('content-type'), head: String.fromCharCode(...bytes.slice(0, 5)) };
    }, pdfLink);
    expect(pdf).toEqual({ type: 'application/pdf', head: '%PDF-' });

    // Sort by size, then filter by database: the table follows.
    await page.click('th[data-sort="size"] button');
    await page.waitForSelector('th[data-sort="size"][aria-sort="descending"]');
    await page.select('#filter-database', 'oslrs');
    await page.waitForFunction("[...document.querySelectorAll('#history tbody tr td:nth-child(2)')].every((td) => td.textContent === 'oslrs')");
    await page.browserContext().close();
  });

  it('an admin deletes an older backup from the page: confirmation with a reason, then gone from the table and from storage', async () => {
    const storage = createStorageFromUrl(folder, { region: 'us-east-1' });
    try {
      const { ref: older, key } = await copyLocalBackup(storage, localBackupRef(), 'daily', new Date(Date.now() - 4 * 86_400_000));
      // A prune job's end makes the API read the catalog again (the copy was made behind its back).
      const prune = await runCli(['run', 'prune', '--database', 'local', '--wait'], env, { cwd });
      expect(prune.exitCode, String(prune.stderr)).toBe(0);

      const page = await openPage(admin.token);
      await page.select('#filter-database', 'local');
      const row = `#history tbody tr[data-id="${older}"]`;
      await page.waitForSelector(row);
      expect(await page.$eval(`${row} button[aria-label^="Delete"]`, (b) => b.getAttribute('aria-disabled'))).not.toBe('true');
      await clickInTable(page, `${row} button[aria-label^="Delete"]`);
      await page.waitForSelector('#confirm[open]');
      expect(await text(page, '#confirm-title')).toBe(`Delete ${older}?`);
      // No reason, no deletion: the dialog stays open.
      await page.click('#confirm-ok');
      expect(await page.$eval('#confirm-reason', (t) => (t as unknown as { validity: { valueMissing: boolean } }).validity.valueMissing)).toBe(true);
      expect(await page.$('#confirm[open]')).not.toBeNull();
      await page.type('#confirm-reason', 'copy made by the page test');
      await page.screenshot({ path: path.join(shots, '8-confirm-delete.png') });
      await page.click('#confirm-ok');
      await page.waitForFunction(`document.querySelector('#history-message').textContent === 'Deleted ${older}.'`);
      // The table is read again after the message: the row goes.
      await page.waitForFunction(`document.querySelector(${JSON.stringify(row)}) === null`, { timeout: 10_000 });
      expect(await storage.head(key)).toBeUndefined();
      expect(await storage.head(`backups/local/manifests/daily/${older.split(':')[2]}.json`)).toBeUndefined();
      const { json: audit } = await call('GET', '/api/v1/audit?limit=1', { token: viewer.token });
      expect(audit.items).toEqual([expect.objectContaining({ action: 'backup.delete', outcome: 'ok', actor: 'ops', target: older, detail: 'copy made by the page test' })]);
      await page.browserContext().close();
    } finally {
      await storage.close();
    }
  });

  it('a viewer sees no admin controls; the page works at phone width', async () => {
    const page = await openPage(viewer.token, { width: 390, height: 844 });
    expect(await text(page, '#who')).toBe('auditor (viewer)');
    expect(await page.$eval('#actions', (s) => (s as unknown as { hidden: boolean }).hidden)).toBe(true);
    expect(await page.$$('#history button[aria-label^="Delete"], #history button[aria-label^="Download"]')).toHaveLength(0);
    expect(await page.$$eval('#history tbody tr', (rows) => rows.length)).toBeGreaterThanOrEqual(2);
    // Nothing wider than the screen but the scrolling tables.
    const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: path.join(shots, '6-viewer-phone.png'), fullPage: true });
    await page.browserContext().close();
  });

  it('a backup that fails for good: running while it waits for its retry, then failed with its error in the history, the summary and the page', async () => {
    const queued = await call('POST', '/api/v1/backups', { token: admin.token, body: { database: 'broken' } });
    expect(queued.status, queued.text).toBe(202);
    const job = String(queued.json.job);
    const listed = async (query: string, match: (item: Record<string, unknown>) => boolean): Promise<Answer> => {
      const until = Date.now() + 60_000;
      for (;;) {
        const answer = await call('GET', `/api/v1/backups?database=broken${query}`, { token: viewer.token });
        if ((answer.json.items as Array<Record<string, unknown>>).some(match)) return answer;
        if (Date.now() > until) throw new Error(`no such item in the history within 60 s: ${answer.text}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    const running = await listed('&status=running', (i) => i.job === job);
    expect(running.json.items).toEqual([expect.objectContaining({ id: `job:${job}`, status: 'running', database: 'broken', error: null })]);
    const ended = await waitForJob(job, 60_000);
    const failed = await listed('', (i) => i.job === job && i.status === 'failed');
    const [item] = failed.json.items as Array<Record<string, unknown>>;
    expect(ended).toMatchObject({ state: 'failed', attempts: 2, maxAttempts: 2, error: item!.error, summary: null, finished: expect.any(String) });
    expect(item).toMatchObject({ id: `job:${job}`, status: 'failed', tier: null, sha256: null, deletable: null, error: expect.stringMatching(/\S/) });
    expect(failed.json.summary).toMatchObject({ count: 0, lastSuccessful: null, lastFailed: { job, database: 'broken', error: item!.error } });
    expect((await call('GET', '/api/v1/backups?status=failed', { token: viewer.token })).json.total).toBe(1);

    const page = await openPage(viewer.token);
    await page.select('#filter-status', 'failed');
    await page.waitForSelector(`#history tbody tr[data-id="job:${job}"]`);
    expect(await text(page, `#history tbody tr[data-id="job:${job}"]`)).toContain(String(item!.error));
    await page.screenshot({ path: path.join(shots, '7-backup-failed.png') });
    await page.browserContext().close();
  });

  it('GET /status is what `pgdrill status --json` prints: the failed database named among the problems', async () => {
    const api = await call('GET', '/api/v1/status', { token: viewer.token });
    const cli = await runCli(['status', '--json'], env, { cwd });
    expect(cli.exitCode).toBe(1);
    const printed = JSON.parse(String(cli.stdout)) as Record<string, unknown> & { databases: Array<Record<string, unknown>>; problems: string[] };
    const served = api.json as typeof printed;
    expect(Object.keys(served).sort()).toEqual(Object.keys(printed).sort());
    expect(served.healthy).toBe(false);
    expect(served.problems).toEqual(printed.problems);
    expect(served.problems).toContain('broken: backup failed 1 time(s) in a row');
    const pick = (d: Record<string, unknown>) => ({ database: d.database, lastBackup: d.lastBackup, lastDrill: d.lastDrill, consecutiveFailures: d.consecutiveFailures, nextRuns: d.nextRuns });
    expect(served.databases.map(pick)).toEqual(printed.databases.map(pick));
    expect(served.databases.map((d) => d.database)).toEqual(['oslrs', 'local', 'broken']);
  });

  it('no secret, token or password hash in any response or in the service log', async () => {
    const secrets = [admin.token, viewer.token, PASSWORD, passwordHash, keys.split(':')[1]!, new URL(source.url).password];
    const everything = [...seen, service.text()].join('\n');
    for (const secret of secrets) expect(everything.includes(secret), `a secret of ${secret.length} characters leaked`).toBe(false);
  });
});

/** The folder database's first backup, as the API tests found it. */
function localBackupRef(): string {
  const line = seen.find((t) => /"id":"local:daily:[^"]+"/.test(t));
  return /"id":"(local:daily:[^"]+)"/.exec(line!)![1]!;
}

/** The S3 database's backup, as the API tests found it. */
function s3BackupRef(): string {
  const line = seen.find((t) => /"id":"oslrs:daily:[^"]+"/.test(t));
  return /"id":"(oslrs:daily:[^"]+)"/.exec(line!)![1]!;
}
