import { readFile } from 'node:fs/promises';
import path from 'node:path';
import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import { QueueEvents } from 'bullmq';
import Fastify, { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { drillReportKey, isoDay } from '../catalog/index.ts';
import { testedBackup, type StoredDrillRecord } from '../evidence/index.ts';
import { PACKAGE_ROOT, TOOL_VERSION, redactUrl, type PgdrillConfig } from '../config/index.ts';
import { StorageError } from '../errors/index.ts';
import { formatAge, formatDuration } from '../format/index.ts';
import type { JobKind } from '../notify/index.ts';
import { deleteBackup } from '../retention/index.ts';
import {
  closeQueues,
  enqueue,
  healthSnapshot,
  JOB_KINDS,
  openQueues,
  redisOptions,
  ServiceState,
  statusReport,
  type RedisEndpoint,
} from '../service/index.ts';
import { openStorage, type BackupStorage } from '../storage/index.ts';
import { AuditTrail, type AuditEvent } from './audit.ts';
import { BackupHistory, deletionRefusal, listHistory, parseBackupRef } from './history.ts';
import { HttpError } from './http-error.ts';
import { openApiDocument, type Access, type RouteDoc } from './openapi.ts';
import * as S from './schemas.ts';
import { csrfMatches, CSRF_HEADER, SESSION_COOKIE, SessionStore, type Session } from './sessions.ts';
import { checkPassword, credentialStillValid, findToken, parseTokenEntries, passwordPrincipal, tokenPrincipal, type Principal } from './tokens.ts';

// The admin API (`/api/v1`) and page (`/`) that `pgdrill serve` serves, on Fastify: schema-first
// routes, fast, maintained by a large team, first-class TypeScript, and the two plugins needed here
// (@fastify/cookie, @fastify/rate-limit). Every route is declared once in the table below with its
// zod schemas and role; requests are parsed with those schemas and the OpenAPI document is made
// from them.

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    principal: Principal | null;
    session: Session | null;
  }
}

export interface ApiServerOptions {
  config: PgdrillConfig;
  configFile?: string;
  /** The project folder (config file, reports). */
  cwd: string;
  endpoint: RedisEndpoint;
  log: Logger;
  host: string;
  port: number;
}

export interface RunningApi {
  /** `http://host:port` as bound. */
  url: string;
  close(): Promise<void>;
}

/** Presigned downloads expire after 15 minutes. */
const PRESIGN_SECONDS = 15 * 60;

const PAGE_FILES: Record<string, string> = {
  '/': 'index.html',
  '/admin.css': 'admin.css',
  '/admin.js': 'admin.js',
};
const CONTENT_TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

/** The page: no inline script or style, nothing from another origin. */
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/** A drill's HTML report (pgdrill's own, with inline styles): shown, never run. */
const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; frame-ancestors 'none'; base-uri 'none'; sandbox";

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
};

interface Handled<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  request: FastifyRequest;
  reply: FastifyReply;
  principal: Principal;
}

interface Route<P = unknown, Q = unknown, B = unknown> extends RouteDoc {
  rateLimit?: { max: number; timeWindow: number };
  handle(input: Handled<P, Q, B>): Promise<unknown>;
}

/** A route whose params, query and body types follow from its schemas. */
function route<PS extends z.ZodType = z.ZodUnknown, QS extends z.ZodType = z.ZodUnknown, BS extends z.ZodType = z.ZodUnknown>(
  spec: Omit<RouteDoc, 'params' | 'query' | 'body'> & {
    params?: PS;
    query?: QS;
    body?: BS;
    rateLimit?: { max: number; timeWindow: number };
    handle(input: Handled<z.output<PS>, z.output<QS>, z.output<BS>>): Promise<unknown>;
  },
): Route {
  return spec as unknown as Route;
}

function parse<T extends z.ZodType>(schema: T | undefined, value: unknown, where: string): unknown {
  if (!schema) return value;
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  throw new HttpError(400, `Invalid ${where}: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
}

async function loadPage(): Promise<Map<string, { body: Buffer; type: string }>> {
  const folder = path.join(PACKAGE_ROOT, 'templates', 'admin');
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const [url, file] of Object.entries(PAGE_FILES)) files.set(url, { body: await readFile(path.join(folder, file)), type: CONTENT_TYPES[path.extname(file)]! });
  return files;
}

export async function startApiServer(options: ApiServerOptions): Promise<RunningApi> {
  const { config, log } = options;
  const api = config.service.api;
  const queuePrefix = config.service.queuePrefix;
  const tokens = parseTokenEntries(api.tokens);
  const connection = redisOptions(options.endpoint);
  const redis = new Redis(connection);
  const queues = openQueues(connection, queuePrefix);
  const state = new ServiceState(redis, queuePrefix);
  const apiLog = log.child({ component: 'api' });
  const history = await BackupHistory.open({ config, configFile: options.configFile, cwd: options.cwd, queues, onError: (error) => apiLog.error({ error: String(error) }, 'catalog refresh failed') });
  const auditStorage = openStorage(config);
  const audit = new AuditTrail(auditStorage, config.storage.prefix, redis, queuePrefix);
  const sessions = new SessionStore(redis, queuePrefix, api.sessionHours * 3600);
  const secureCookies = api.publicUrl?.startsWith('https://') ?? false;
  const page = await loadPage();
  // A completed backup, prune or drill changed what storage holds: the next request reads it.
  const events = (['backup', 'prune', 'drill'] as const).map((kind) => new QueueEvents(kind, { connection, prefix: queuePrefix }));
  for (const e of events) {
    e.on('completed', () => history.invalidate());
    e.on('error', (error) => apiLog.warn({ error: error.message }, 'job events'));
  }

  const app = Fastify({ loggerInstance: apiLog, logController: new LogController({ disableRequestLogging: true }), bodyLimit: api.bodyLimitBytes, trustProxy: 'loopback', return503OnClosing: true });
  app.decorateRequest('principal', null);
  app.decorateRequest('session', null);
  await app.register(cookie);
  await app.register(rateLimit, {
    global: false,
    redis,
    nameSpace: `${queuePrefix}:api:rate:`,
    errorResponseBuilder: (_request, context) =>
      new HttpError(429, `Too many login attempts from this address: at most ${context.max} a minute; try again in ${Math.ceil(context.ttl / 1000)} s`, {
        retryAfterSeconds: Math.ceil(context.ttl / 1000),
      }),
  });

  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('cross-origin-resource-policy', 'same-origin');
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', PAGE_CSP);
    if (secureCookies) reply.header('strict-transport-security', 'max-age=31536000');
    if (request.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
    return payload;
  });

  // Who is asking, and may they: 401 without valid credentials, 403 for a viewer on an admin
  // route or a page request that changes something without its CSRF token.
  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access ?? 'public';
    if (access === 'public') return;
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const token = /^Bearer (\S+)$/i.exec(authorization)?.[1];
      const entry = token ? findToken(tokens, token) : undefined;
      if (!entry) throw new HttpError(401, 'The bearer token is not valid: create one with `pgdrill tokens create` and list its entry in PGDRILL_API_TOKENS');
      request.principal = tokenPrincipal(entry);
    } else {
      const session = await sessions.get(request.cookies[SESSION_COOKIE]);
      if (!session || !credentialStillValid(session.credential, tokens, api.passwordHash)) {
        throw new HttpError(401, 'Not logged in (or the session expired): log in on the page, or send Authorization: Bearer <token>');
      }
      if (request.method !== 'GET' && request.method !== 'HEAD' && !csrfMatches(session, request.headers[CSRF_HEADER])) {
        throw new HttpError(403, `This request changes something and needs the session's CSRF token in the ${CSRF_HEADER} header (reload the page)`);
      }
      request.session = session;
      request.principal = session;
    }
    if (access === 'admin' && request.principal.role !== 'admin') {
      throw new HttpError(403, `${request.principal.name} is a viewer: this needs the admin role`);
    }
  });

  app.setErrorHandler((error: unknown, request, reply) => {
    const fail = (status: number, message: string, retryAfterSeconds?: number) => {
      if (retryAfterSeconds !== undefined) reply.header('retry-after', String(retryAfterSeconds));
      if (status === 401) reply.header('www-authenticate', 'Bearer realm="pgdrill"');
      return reply.code(status).send({ error: STATUS_TEXT[status] ?? 'Error', message, ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) });
    };
    if (error instanceof HttpError) return fail(error.status, error.message, error.retryAfterSeconds);
    const status = (error as { statusCode?: number }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) return fail(status, (error as Error).message);
    if (error instanceof StorageError) {
      apiLog.error({ url: request.url, error: error.message }, 'storage failed');
      return fail(502, `Storage failed: ${error.message}`);
    }
    apiLog.error({ url: request.url, error: error instanceof Error ? error.message : String(error) }, 'request failed');
    return fail(500, 'Unexpected error; the service log has the details');
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'Not Found', message: `No route ${request.method} ${request.url.split('?')[0]}` }));

  const record = (request: FastifyRequest, event: Omit<AuditEvent, 'actor' | 'role' | 'client'>) =>
    audit.append({ actor: request.principal?.name ?? 'anonymous', role: request.principal?.role ?? 'none', client: request.ip, ...event });

  /** One manual trigger of `kind` per database and interval: 429 with the seconds left. */
  async function claimManualSlot(kind: JobKind, database: string): Promise<() => Promise<void>> {
    const seconds = Math.round(api.manualBackupIntervalMinutes * 60);
    const key = `${queuePrefix}:api:manual:${kind}:${database}`;
    if (seconds === 0) return async () => {};
    if ((await redis.set(key, new Date().toISOString(), 'EX', seconds, 'NX')) !== 'OK') {
      const [since, ttl] = await Promise.all([redis.get(key), redis.ttl(key)]);
      const ago = since ? ` ${formatAge(Date.now() - Date.parse(since))} ago` : '';
      throw new HttpError(429, `A manual ${kind} of ${database} was started${ago}: at most one every ${api.manualBackupIntervalMinutes} min (service.api.manualBackupIntervalMinutes); try again in ${formatDuration(Math.max(ttl, 1) * 1000)}`, {
        retryAfterSeconds: Math.max(ttl, 1),
      });
    }
    return async () => void (await redis.del(key));
  }

  function databaseOf(name: string | undefined): string {
    if (name !== undefined) return history.cached(name).database.name;
    if (history.names.length === 1) return history.names[0]!;
    throw new HttpError(400, `${history.names.length} databases are configured: say which in "database" (one of ${history.names.join(', ')})`);
  }

  async function trigger(kind: 'backup' | 'drill', request: FastifyRequest, reply: FastifyReply, name: string | undefined) {
    const database = databaseOf(name);
    const action = kind === 'backup' ? 'backup.trigger' : 'drill.trigger';
    let release: () => Promise<void>;
    try {
      release = await claimManualSlot(kind, database);
    } catch (error) {
      await record(request, { action, outcome: 'refused', target: database, detail: (error as Error).message });
      throw error;
    }
    let job;
    try {
      job = await enqueue(queues[kind], config, kind, database);
    } catch (error) {
      await release();
      throw error;
    }
    await record(request, { action, outcome: 'ok', target: database, detail: `job ${kind}:${job.id}` });
    reply.code(202).header('location', `/api/v1/jobs/${kind}:${job.id}`);
    return { job: `${kind}:${job.id}`, database, kind, status: 'queued' };
  }

  /** The backup a BackupRef names, in the current catalog (404 when it is not there). */
  async function findBackup(ref: string, fresh = false) {
    const parsed = parseBackupRef(ref);
    const db = history.cached(parsed.database);
    if (fresh) history.invalidate(parsed.database);
    const view = await history.view(db.database.name);
    const found = view.byRef.get(ref);
    if (!found) throw new HttpError(404, `No backup ${ref} in ${view.storage.location} (retention may have removed it)`);
    return { ...found, view };
  }

  async function findDrill(ref: string) {
    const match = /^([A-Za-z0-9_.-]{1,64}):([A-Za-z0-9_.-]{1,200})$/.exec(ref);
    if (!match || match[2] === '.' || match[2] === '..') throw new HttpError(400, `"${ref.slice(0, 80)}" is not a drill id: expected {database}:{drill id}`);
    const view = await history.view(history.cached(match[1]!).database.name);
    const record = view.drills.find((d) => d.evidence.drillId === match[2]);
    if (!record) throw new HttpError(404, `No drill ${ref} in ${view.storage.location}`);
    return { record, view };
  }

  async function sendStored(reply: FastifyReply, storage: BackupStorage, key: string, type: string, disposition: string, size?: number) {
    const stream = await storage.get(key);
    reply.header('content-type', type).header('content-disposition', `${disposition}; filename="${path.basename(key)}"`);
    if (size !== undefined) reply.header('content-length', String(size));
    return reply.send(stream);
  }

  const sessionView = (request: FastifyRequest) => ({
    name: request.principal!.name,
    role: request.principal!.role,
    csrfToken: request.session?.csrfToken ?? null,
    expiresInSeconds: request.session ? sessions.ttlSeconds : null,
  });

  const routes: Route[] = [
    route({
      method: 'GET',
      url: '/healthz',
      summary: 'Liveness: the API answers',
      access: 'public',
      responses: { 200: { description: 'up', schema: S.Health } },
      handle: async () => ({ status: 'ok' }),
    }),
    route({
      method: 'GET',
      url: '/openapi.json',
      summary: 'This document',
      access: 'public',
      responses: { 200: { description: 'OpenAPI 3.1' } },
      handle: async () => document,
    }),
    route({
      method: 'POST',
      url: '/login',
      summary: 'Log the page in with a token or the admin password: sets an HttpOnly, SameSite=Strict session cookie; returns the CSRF token',
      access: 'public',
      body: S.LoginBody,
      rateLimit: { max: api.loginAttemptsPerMinute, timeWindow: 60_000 },
      responses: { 200: { description: 'logged in', schema: S.SessionView }, 401: { description: 'wrong token or password', schema: S.ErrorBody }, 429: { description: 'too many attempts', schema: S.ErrorBody } },
      handle: async ({ body, request, reply }) => {
        let principal: Principal | undefined;
        if ('token' in body) {
          const entry = findToken(tokens, body.token);
          principal = entry ? tokenPrincipal(entry) : undefined;
        } else if (api.passwordHash && (await checkPassword(body.password, api.passwordHash))) {
          principal = passwordPrincipal(api.passwordHash);
        }
        if (!principal) {
          await record(request, { action: 'login.failure', outcome: 'refused', detail: 'token' in body ? 'with a token' : 'with the password' });
          throw new HttpError(401, 'The token or password is not valid');
        }
        const { id, session } = await sessions.create(principal);
        request.principal = session;
        request.session = session;
        reply.setCookie(SESSION_COOKIE, id, { httpOnly: true, sameSite: 'strict', secure: secureCookies, path: '/', maxAge: sessions.ttlSeconds });
        await record(request, { action: 'login', outcome: 'ok', detail: 'token' in body ? 'with a token' : 'with the password' });
        return sessionView(request);
      },
    }),
    route({
      method: 'POST',
      url: '/logout',
      summary: 'End the page session',
      access: 'viewer',
      responses: { 204: { description: 'logged out' } },
      handle: async ({ request, reply }) => {
        await sessions.destroy(request.cookies[SESSION_COOKIE]);
        reply.clearCookie(SESSION_COOKIE, { path: '/' }).code(204);
        return null;
      },
    }),
    route({
      method: 'GET',
      url: '/session',
      summary: 'Who is logged in, and the CSRF token of the page session',
      access: 'viewer',
      responses: { 200: { description: 'the session', schema: S.SessionView } },
      handle: async ({ request }) => sessionView(request),
    }),
    route({
      method: 'GET',
      url: '/status',
      summary: 'The health snapshot, monitors and problems: what `pgdrill status --json` prints',
      access: 'viewer',
      responses: { 200: { description: 'status' } },
      handle: async () => statusReport(await healthSnapshot({ config, configFile: options.configFile, cwd: options.cwd, queues, state }), config),
    }),
    route({
      method: 'GET',
      url: '/deployment',
      summary: 'What the page shows about this deployment: databases, schedules, restore commands, RPO, emergency contact',
      access: 'viewer',
      responses: { 200: { description: 'deployment', schema: S.Deployment } },
      handle: async () => deployment(),
    }),
    route({
      method: 'GET',
      url: '/backups',
      summary: 'Backup history from the storage catalog plus failed and running backup jobs, filtered, sorted and paged, with a summary',
      access: 'viewer',
      query: S.BackupListQuery,
      responses: { 200: { description: 'a page of history', schema: S.BackupList }, 400: { description: 'bad query', schema: S.ErrorBody } },
      handle: async ({ query }) => listHistory(history, query, config),
    }),
    route({
      method: 'POST',
      url: '/backups',
      summary: 'Enqueue a manual backup of a database (at most one per database per service.api.manualBackupIntervalMinutes)',
      access: 'admin',
      body: S.TriggerBody,
      responses: { 202: { description: 'queued', schema: S.Triggered }, 429: { description: 'a manual backup of this database ran recently (Retry-After)', schema: S.ErrorBody } },
      handle: async ({ body, request, reply }) => trigger('backup', request, reply, body.database),
    }),
    route({
      method: 'GET',
      url: '/backups/chart',
      summary: 'Size and duration of every full daily backup of the last 12 months',
      access: 'viewer',
      responses: { 200: { description: 'points, oldest first', schema: S.Chart } },
      handle: async () => chart(),
    }),
    route({
      method: 'GET',
      url: '/backups/:id',
      summary: 'One backup: its manifest (no secrets), expiry, and whether it may be deleted',
      access: 'viewer',
      params: S.IdParams,
      responses: { 200: { description: 'the backup', schema: S.BackupDetail }, 400: { description: 'not a backup id', schema: S.ErrorBody }, 404: { description: 'no such backup', schema: S.ErrorBody } },
      handle: async ({ params }) => {
        const found = await findBackup(params.id);
        const refusal = deletionRefusal(found.entry, found.keepReasons, new Date(), api.deleteMinAgeHours);
        return {
          id: params.id,
          database: found.view.name,
          manifestKey: found.entry.manifestKey,
          manifest: found.entry.manifest,
          expiry: found.expiry,
          deletable: refusal ? { allowed: false, ...refusal } : { allowed: true, forceable: false },
        };
      },
    }),
    route({
      method: 'GET',
      url: '/backups/:id/download',
      summary: 'How to download the encrypted dump: a presigned S3 GET valid 15 minutes, or this API\'s stream for a folder store; and how to decrypt it',
      access: 'admin',
      params: S.IdParams,
      responses: { 200: { description: 'where to download', schema: S.Download } },
      handle: async ({ params, request }) => {
        const { entry, view } = await findBackup(params.id);
        const dump = entry.manifest.objects.dump;
        const presigned = await view.storage.presignGet(dump.key, PRESIGN_SECONDS);
        const file = path.basename(dump.key);
        const encryption = entry.manifest.encryption;
        const plain = file.replace(/\.enc$/, '').replace(/\.(zst|gz)$/, '');
        if (presigned) await record(request, { action: 'backup.download', outcome: 'ok', target: params.id, detail: 'presigned URL (15 min)' });
        return {
          method: presigned ? 'presigned-url' : 'stream',
          url: presigned ?? `/api/v1/backups/${encodeURIComponent(params.id)}/download/file`,
          expiresAt: presigned ? new Date(Date.now() + PRESIGN_SECONDS * 1000).toISOString() : null,
          key: dump.key,
          sizeBytes: dump.size,
          sha256: dump.sha256,
          encryption: encryption.algorithm === 'none' ? 'none' : `${encryption.algorithm} key ${encryption.keyId}`,
          decrypt:
            `The file is the stored object: ${encryption.algorithm === 'none' ? 'not encrypted' : `encrypted (key ${encryption.keyId})`}, ${entry.manifest.compression.algorithm}-compressed. ` +
            `Check it: sha256sum ${file} (expect ${dump.sha256}). ` +
            `Turn it into the ${entry.manifest.format === 'custom' ? 'pg_restore archive' : 'SQL script'}: PGDRILL_ENCRYPTION_KEYS=<keyring> pgdrill decrypt ${file} --out ${plain} ` +
            `(authenticates every chunk, decompresses). Or restore straight from storage: pgdrill restore --key ${dump.key} --target-db postgres://USER@HOST:5432/DB`,
        };
      },
    }),
    route({
      method: 'GET',
      url: '/backups/:id/download/file',
      summary: 'The encrypted dump, streamed from storage',
      access: 'admin',
      params: S.IdParams,
      responses: { 200: { description: 'the stored bytes', contentType: 'application/octet-stream' } },
      handle: async ({ params, request, reply }) => {
        const { entry, view } = await findBackup(params.id);
        const dump = entry.manifest.objects.dump;
        await record(request, { action: 'backup.download', outcome: 'ok', target: params.id, detail: 'streamed' });
        return sendStored(reply, view.storage, dump.key, 'application/octet-stream', 'attachment', dump.size);
      },
    }),
    route({
      method: 'DELETE',
      url: '/backups/:id',
      summary: 'Delete a backup (manifest first, like retention), with a reason; refuses one younger than 24 h, the newest valid backup, and a monthly inside its retention period unless force',
      access: 'admin',
      params: S.IdParams,
      body: S.DeleteBody,
      responses: { 200: { description: 'deleted', schema: S.Deleted }, 409: { description: 'refused, with the reason', schema: S.ErrorBody } },
      handle: async ({ params, body, request }) => {
        const { entry, keepReasons, view } = await findBackup(params.id, true);
        const refusal = deletionRefusal(entry, keepReasons, new Date(), api.deleteMinAgeHours);
        if (refusal && !(refusal.forceable && body.force)) {
          const message = `Refused to delete ${params.id}: ${refusal.reason}`;
          await record(request, { action: 'backup.delete', outcome: 'refused', target: params.id, detail: `${body.reason} — ${refusal.reason}` });
          throw new HttpError(409, message);
        }
        await deleteBackup(view.storage, view.prefix, entry);
        history.invalidate(view.name);
        await record(request, { action: 'backup.delete', outcome: 'ok', target: params.id, detail: `${body.force ? 'forced: ' : ''}${body.reason}` });
        return { id: params.id, deleted: true, keys: [entry.manifestKey, entry.manifest.objects.dump.key, ...(entry.manifest.objects.globals ? [entry.manifest.objects.globals.key] : [])] };
      },
    }),
    route({
      method: 'GET',
      url: '/drills',
      summary: 'Drill records (newest first) with verdicts and report links',
      access: 'viewer',
      responses: { 200: { description: 'drills', schema: S.DrillList } },
      handle: async () => ({ items: (await history.views()).flatMap((view) => view.drills.map((d) => drillItem(view.name, d))).sort((a, b) => b.started.localeCompare(a.started)) }),
    }),
    route({
      method: 'POST',
      url: '/drills',
      summary: 'Enqueue a restore drill of a database (at most one manual drill per database per service.api.manualBackupIntervalMinutes)',
      access: 'admin',
      body: S.TriggerBody,
      responses: { 202: { description: 'queued', schema: S.Triggered }, 429: { description: 'a manual drill ran recently', schema: S.ErrorBody } },
      handle: async ({ body, request, reply }) => trigger('drill', request, reply, body.database),
    }),
    route({
      method: 'GET',
      url: '/drills/:id',
      summary: 'A drill\'s evidence record (JSON), as filed',
      access: 'viewer',
      params: S.IdParams,
      responses: { 200: { description: 'evidence' } },
      handle: async ({ params }) => (await findDrill(params.id)).record.evidence,
    }),
    route({
      method: 'GET',
      url: '/drills/:id/report.pdf',
      summary: 'A drill\'s PDF report',
      access: 'viewer',
      params: S.IdParams,
      responses: { 200: { description: 'PDF', contentType: 'application/pdf' } },
      handle: async ({ params, reply }) => {
        const { record, view } = await findDrill(params.id);
        return sendStored(reply, view.storage, drillReportKey(view.prefix, record.evidence.drillId, new Date(record.evidence.startedAt), 'pdf'), 'application/pdf', 'inline');
      },
    }),
    route({
      method: 'GET',
      url: '/drills/:id/report.html',
      summary: 'A drill\'s HTML report (shown sandboxed: no script runs)',
      access: 'viewer',
      params: S.IdParams,
      responses: { 200: { description: 'HTML', contentType: 'text/html' } },
      handle: async ({ params, reply }) => {
        const { record, view } = await findDrill(params.id);
        reply.header('content-security-policy', REPORT_CSP);
        return sendStored(reply, view.storage, drillReportKey(view.prefix, record.evidence.drillId, new Date(record.evidence.startedAt), 'html'), 'text/html; charset=utf-8', 'inline');
      },
    }),
    route({
      method: 'GET',
      url: '/jobs/:id',
      summary: 'A job: state, attempts, error, progress',
      access: 'viewer',
      params: S.IdParams,
      responses: { 200: { description: 'the job', schema: S.JobView }, 404: { description: 'no such job', schema: S.ErrorBody } },
      handle: async ({ params }) => {
        const match = /^(backup|drill|verify|prune):([A-Za-z0-9:_-]{1,100})$/.exec(params.id);
        if (!match) throw new HttpError(400, `"${params.id.slice(0, 80)}" is not a job id: expected {${JOB_KINDS.join('|')}}:{id}, e.g. backup:17`);
        const kind = match[1] as JobKind;
        // State first: a job read after it says "completed" carries its outcome.
        const state = await queues[kind].getJobState(match[2]!);
        const job = await queues[kind].getJob(match[2]!);
        if (!job || !history.names.includes(job.data.database)) throw new HttpError(404, `No job ${params.id} (finished jobs are kept 90 days)`);
        return {
          job: params.id,
          kind,
          database: job.data.database,
          trigger: job.data.trigger,
          state,
          attempts: job.attemptsMade,
          maxAttempts: job.opts.attempts ?? 1,
          progress: job.progress,
          error: job.failedReason ? job.failedReason.replace(/^\[exit \d+\] /, '') : null,
          summary: job.returnvalue?.summary ?? null,
          created: new Date(job.timestamp).toISOString(),
          finished: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
        };
      },
    }),
    route({
      method: 'GET',
      url: '/audit',
      summary: 'The newest admin audit records (newest first), with a check of their hash chain',
      access: 'viewer',
      query: S.AuditQuery,
      responses: { 200: { description: 'audit records', schema: S.AuditList } },
      handle: async ({ query }) => {
        const { items, chain } = await audit.recent(query.limit);
        return { items: items.map(({ record, sha256 }) => ({ ...record, sha256 })), chain };
      },
    }),
  ];

  function drillItem(database: string, d: StoredDrillRecord) {
    const e = d.evidence;
    const id = `${database}:${e.drillId}`;
    return {
      id,
      database,
      drillId: e.drillId,
      started: e.startedAt,
      verdict: e.verdict,
      rtoMs: e.timings.rtoMs,
      rto: formatDuration(e.timings.rtoMs),
      // A point-in-time drill tested a pgBackRest set, not a dump.
      backup: e.backup ? `${e.backup.tier}/${e.backup.id}` : `pgBackRest ${testedBackup(e).id}`,
      failedChecks: e.checks.filter((c) => c.status === 'fail').map((c) => c.title),
      signed: d.signed,
      pdf: `/api/v1/drills/${encodeURIComponent(id)}/report.pdf`,
      html: `/api/v1/drills/${encodeURIComponent(id)}/report.html`,
    };
  }

  async function chart() {
    const now = new Date();
    const from = new Date(Date.UTC(now.getUTCFullYear() - 1, now.getUTCMonth(), now.getUTCDate()));
    const points = (await history.views(now)).flatMap((view) =>
      view.snapshot.backups
        .filter((b) => b.manifest.tier === 'daily' && Date.parse(b.manifest.startedAt) >= from.getTime())
        .map((b) => ({ database: view.name, day: b.manifest.startedAt.slice(0, 10), sizeBytes: b.manifest.objects.dump.size + (b.manifest.objects.globals?.size ?? 0), durationMs: b.manifest.durationMs })),
    );
    return { from: isoDay(from), to: isoDay(now), points };
  }

  async function deployment() {
    const views = await history.views();
    const configFlag = options.configFile ? ` --config ${options.configFile}` : '';
    return {
      version: TOOL_VERSION,
      storage: [...new Set(views.map((v) => v.storage.location))].join(', '),
      databases: views.map((view) => {
        const db = history.cached(view.name);
        const env = `PGDRILL_STORAGE=${redactUrl(view.config.storage.url)} PGDRILL_STORAGE_PREFIX=${view.prefix} PGDRILL_ENCRYPTION_KEYS=<keyring>`;
        const target = `postgres://USER@TARGET-HOST:5432/${view.snapshot.backups.at(-1)?.manifest.database ?? view.name}`;
        return {
          name: view.name,
          schedule: { backup: db.database.schedule.backup, drill: db.database.schedule.drill, timeZone: db.database.schedule.timeZone },
          restore: [
            `${env} pgdrill restore${configFlag} --list`,
            `${env} pgdrill restore${configFlag} --latest --target-db ${target} --dry-run`,
            `${env} pgdrill restore${configFlag} --latest --target-db ${target} --confirm`,
          ],
        };
      }),
      rpoTargetHours: config.report.rpoTargetHours,
      rtoTargetMinutes: config.report.rtoTargetMinutes,
      backupMaxAgeHours: config.monitors.backupMaxAgeHours,
      emergencyContact: api.emergencyContact ?? config.report.dpoContact ?? null,
      manualBackupIntervalMinutes: api.manualBackupIntervalMinutes,
      deleteMinAgeHours: api.deleteMinAgeHours,
    };
  }

  const document = openApiDocument(routes, {
    version: TOOL_VERSION,
    description: 'Backup history, manual backups and drills, downloads, deletions and drill reports of a pgdrill deployment. Roles: admin and viewer.',
  });

  for (const r of routes) {
    app.route({
      method: r.method,
      url: `/api/v1${r.url}`,
      config: { access: r.access, ...(r.rateLimit ? { rateLimit: r.rateLimit } : {}) },
      handler: async (request, reply) => {
        const result = await r.handle({
          params: parse(r.params, request.params, 'path'),
          query: parse(r.query, request.query, 'query'),
          body: parse(r.body, request.body, 'body'),
          request,
          reply,
          principal: request.principal!,
        });
        return result === null ? reply.send() : result;
      },
    });
  }
  app.get('/healthz', { config: { access: 'public' } }, async () => ({ status: 'ok' }));
  for (const [url, file] of page) app.get(url, { config: { access: 'public' } }, async (_request, reply) => reply.type(file.type).send(file.body));
  app.get('/favicon.ico', { config: { access: 'public' } }, async (_request, reply) => reply.code(204).send());

  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  return {
    url,
    async close() {
      await app.close();
      await Promise.all(events.map((e) => e.close()));
      await closeQueues(queues);
      await history.close();
      await auditStorage.close();
      redis.disconnect();
    },
  };
}

