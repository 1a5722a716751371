import type { Job } from 'bullmq';
import {
  backupSeries,
  listBackups,
  manifestKey,
  parseManifestKey,
  type BackupTier,
  type CatalogEntry,
  type CatalogSnapshot,
} from '../catalog/index.ts';
import { loadConfig, type PgdrillConfig } from '../config/index.ts';
import { readDrillHistory, type StoredDrillRecord } from '../evidence/index.ts';
import { formatAge, formatBytes, formatDuration } from '../format/index.ts';
import { expiryKey, planCatalogRetention, retentionExpiries, type BackupExpiry, type RetentionPlan } from '../retention/index.ts';
import { fleetOf, scheduledRuns, type FleetDatabase, type JobData, type JobOutcome, type Queues, type ScheduledRun } from '../service/index.ts';
import { openStorage, type BackupStorage } from '../storage/index.ts';
import { HttpError } from './http-error.ts';
import type { BackupItem, BackupListQuery } from './schemas.ts';

// The backup history the API and page show: the storage catalog (the source of truth) of every
// fleet database, cached, plus the job engine's failed and running jobs. The catalog is read once,
// then refreshed incrementally (a storage listing; only new or changed manifests are read) when a
// backup, prune or delete has completed, and in the background once it is older than
// service.api.catalogMaxAgeSeconds. A request never waits for a background refresh.

export interface DatabaseView {
  name: string;
  config: PgdrillConfig;
  storage: BackupStorage;
  prefix: string;
  snapshot: CatalogSnapshot;
  drills: StoredDrillRecord[];
  plan: RetentionPlan;
  /** Backups (and invalid manifests) as listed, newest first, without the request-time `deletable`. */
  items: BackupItem[];
  /** By BackupRef. */
  byRef: Map<string, { entry: CatalogEntry; expiry: BackupExpiry; keepReasons: readonly string[] }>;
  refreshedAt: Date;
}

interface CachedDatabase {
  database: FleetDatabase;
  config: PgdrillConfig;
  storage: BackupStorage;
  view?: DatabaseView;
  /** Storage changed since the view was read: the next request waits for a fresh one. */
  dirty: boolean;
  /** The refresh in flight, and whether requests wait for it (it follows a change) or not (the view just grew old). */
  refreshing?: { done: Promise<DatabaseView>; awaited: boolean };
}

/** `{database}:{tier}:{id}`. */
export const backupRef = (database: string, tier: BackupTier, id: string): string => `${database}:${tier}:${id}`;

const REF = /^([A-Za-z0-9_.-]{1,64}):(daily|weekly|monthly):([A-Za-z0-9_.-]{1,200})$/;

/**
 * A BackupRef checked against the key layout (400 for anything that is not one: no path into
 * storage keys). The id must survive a round trip through the manifest key (under any prefix).
 */
export function parseBackupRef(ref: string): { database: string; tier: BackupTier; id: string } {
  const prefix = 'backups';
  const match = REF.exec(ref);
  const [, database, tier, id] = match ?? [];
  const place = match && id !== '.' && id !== '..' ? parseManifestKey(prefix, manifestKey(prefix, tier as BackupTier, id!)) : undefined;
  if (!place || place.id !== id || place.tier !== tier) {
    throw new HttpError(400, `"${ref.slice(0, 80)}" is not a backup id: expected {database}:{daily|weekly|monthly}:{backup id}, e.g. oslrs:daily:2026-11-23-oslrs`);
  }
  return { database: database!, tier: place.tier, id: place.id };
}

const badgeOf = (ageMs: number, maxAgeHours: number): 'green' | 'amber' | 'red' =>
  ageMs <= maxAgeHours * 3_600_000 ? 'green' : ageMs <= 2 * maxAgeHours * 3_600_000 ? 'amber' : 'red';

const sizeOf = (entry: CatalogEntry): number => entry.manifest.objects.dump.size + (entry.manifest.objects.globals?.size ?? 0);

/** Why DELETE refuses a backup (and whether `force` overrides it), or undefined when it may go. */
export function deletionRefusal(
  entry: CatalogEntry,
  keepReasons: readonly string[],
  now: Date,
  minAgeHours: number,
): { reason: string; forceable: boolean } | undefined {
  const ageMs = now.getTime() - Date.parse(entry.manifest.finishedAt);
  if (ageMs < minAgeHours * 3_600_000) {
    return { reason: `it is ${formatAge(Math.max(ageMs, 0))} old: a backup younger than ${minAgeHours} h is never deleted here`, forceable: false };
  }
  if (keepReasons.some((r) => r.startsWith('kept: newest valid backup'))) {
    const what = backupSeries(entry.manifest).full ? 'full backup' : `backup of its series (${backupSeries(entry.manifest).series})`;
    return { reason: `it is the newest valid ${what} of ${entry.manifest.database}, which is never deleted`, forceable: false };
  }
  const monthly = keepReasons.find((r) => r.startsWith('kept: monthly'));
  if (entry.manifest.tier === 'monthly' && monthly) {
    return { reason: `it is inside its retention period (${monthly}); deleting it needs force: true and a reason`, forceable: true };
  }
  return undefined;
}

/** Job engine state the history shows: final failures, running and queued backups, next runs. */
interface LiveState {
  at: number;
  jobs: BackupItem[];
  runs: ScheduledRun[];
}

const LIVE_TTL_MS = 2000;

export class BackupHistory {
  readonly #databases = new Map<string, CachedDatabase>();
  readonly #config: PgdrillConfig;
  readonly #queues: Queues;
  readonly #onError: (error: unknown) => void;
  #live?: Promise<LiveState>;

  private constructor(config: PgdrillConfig, queues: Queues, onError: (error: unknown) => void) {
    this.#config = config;
    this.#queues = queues;
    this.#onError = onError;
  }

  /** Resolves each fleet database's configuration and opens its storage (nothing is read yet). */
  static async open(options: { config: PgdrillConfig; configFile?: string; cwd: string; queues: Queues; onError: (error: unknown) => void }): Promise<BackupHistory> {
    const history = new BackupHistory(options.config, options.queues, options.onError);
    for (const database of fleetOf(options.config)) {
      const config = await loadConfig({ configFile: options.configFile, cwd: options.cwd, flags: database.overrides });
      history.#databases.set(database.name, { database, config, storage: openStorage(config), dirty: true });
    }
    return history;
  }

  get names(): string[] {
    return [...this.#databases.keys()];
  }

  cached(name: string): CachedDatabase {
    const db = this.#databases.get(name);
    if (!db) throw new HttpError(404, `No database named "${name.slice(0, 64)}" in this deployment (configured: ${this.names.join(', ')})`);
    return db;
  }

  /** A backup, prune or delete changed this database's catalog (all databases when none is named). */
  invalidate(name?: string): void {
    for (const [key, db] of this.#databases) if (name === undefined || key === name) db.dirty = true;
    this.#live = undefined;
  }

  /** The view of one database: read (or refreshed) first when it changed; refreshed in the background when old. */
  async view(name: string, now = new Date()): Promise<DatabaseView> {
    const db = this.cached(name);
    if (!db.view || db.dirty) return this.#refresh(db, true);
    if (db.refreshing?.awaited) return db.refreshing.done;
    if (now.getTime() - db.view.refreshedAt.getTime() > this.#config.service.api.catalogMaxAgeSeconds * 1000) {
      void this.#refresh(db, false).catch(this.#onError);
    }
    return db.view;
  }

  views(now = new Date()): Promise<DatabaseView[]> {
    return Promise.all(this.names.map((name) => this.view(name, now)));
  }

  /**
   * Reads the catalog again (incrementally). A change noticed while a refresh runs starts another
   * after it: the running one may have listed storage before the change.
   */
  #refresh(db: CachedDatabase, awaited: boolean): Promise<DatabaseView> {
    const running = db.refreshing;
    if (running && !db.dirty) {
      running.awaited ||= awaited;
      return running.done;
    }
    db.dirty = false;
    const done = (running?.done ?? Promise.resolve())
      .catch(() => undefined)
      .then(async () => {
        const prefix = db.config.storage.prefix;
        const snapshot = await listBackups(db.storage, prefix, db.view?.snapshot);
        const drills = await readDrillHistory(db.storage, prefix, Number.MAX_SAFE_INTEGER, { onInvalid: () => {} });
        const view = buildView(db, snapshot, drills, new Date());
        db.view = view;
        return view;
      });
    const refresh = { done, awaited };
    db.refreshing = refresh;
    // A failed refresh leaves the database dirty, so the next request tries again.
    done.then(
      () => {
        if (db.refreshing === refresh) db.refreshing = undefined;
      },
      () => {
        if (db.refreshing === refresh) db.refreshing = undefined;
        db.dirty = true;
      },
    );
    return done;
  }

  /** Failed (for good), running and queued backup jobs, and the schedulers' next runs; cached for 2 s. */
  live(): Promise<LiveState> {
    const current = this.#live;
    if (current) return current.then((state) => (Date.now() - state.at < LIVE_TTL_MS ? state : this.#readLive()));
    return this.#readLive();
  }

  #readLive(): Promise<LiveState> {
    const reading = (async (): Promise<LiveState> => {
      const queue = this.#queues.backup;
      const [failed, running, delayed, runs] = await Promise.all([
        queue.getJobs(['failed'], 0, 99),
        queue.getJobs(['active', 'waiting', 'prioritized'], 0, 99),
        queue.getJobs(['delayed'], 0, 99),
        scheduledRuns(this.#queues),
      ]);
      // A delayed job that has not run yet is the scheduler's next run (nextScheduled); one that has is waiting for its retry.
      const retrying = delayed.filter((job) => job && job.attemptsMade > 0);
      const jobs = [...failed.filter(Boolean).map((job) => jobItem(job, 'failed')), ...[...running, ...retrying].filter(Boolean).map((job) => jobItem(job, 'running'))].filter((item) =>
        this.#databases.has(item.database),
      );
      return { at: Date.now(), jobs, runs };
    })();
    this.#live = reading;
    reading.catch(() => (this.#live = undefined));
    return reading;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#databases.values()].map((db) => db.storage.close()));
  }
}

function buildView(db: CachedDatabase, snapshot: CatalogSnapshot, drills: StoredDrillRecord[], now: Date): DatabaseView {
  const policy = db.config.retention;
  const plan = planCatalogRetention(snapshot, policy, now);
  const planned = snapshot.backups.map((e) => ({ tier: e.manifest.tier, id: e.manifest.id, database: e.manifest.database, takenAt: new Date(e.manifest.startedAt), series: backupSeries(e.manifest).series }));
  const expiries = retentionExpiries(plan, planned, policy, now);
  const keepReasons = new Map(plan.keep.map((d) => [expiryKey(d), d.reasons]));
  const name = db.database.name;
  const byRef: DatabaseView['byRef'] = new Map();
  const items: BackupItem[] = [];
  for (const entry of snapshot.backups) {
    const m = entry.manifest;
    const key = expiryKey({ tier: m.tier, id: m.id, database: m.database });
    const expiry = expiries.get(key)!;
    const ref = backupRef(name, m.tier, m.id);
    byRef.set(ref, { entry, expiry, keepReasons: keepReasons.get(key) ?? [] });
    const sizeBytes = sizeOf(entry);
    items.push({
      id: ref,
      status: 'ok',
      database: name,
      tier: m.tier,
      created: m.startedAt,
      finished: m.finishedAt,
      durationMs: m.durationMs,
      duration: formatDuration(m.durationMs),
      sizeBytes,
      size: formatBytes(sizeBytes),
      sha256: m.objects.dump.sha256,
      key: m.objects.dump.key,
      scope: backupSeries(m).series,
      expiry,
      deletable: null,
      error: null,
      job: null,
    });
  }
  for (const bad of snapshot.invalid) {
    const listed = snapshot.objects.get(bad.manifestKey);
    items.push({
      id: backupRef(name, bad.tier, bad.id),
      status: 'invalid',
      database: name,
      tier: bad.tier,
      created: listed ? listed.lastModified.toISOString() : null,
      finished: null,
      durationMs: null,
      duration: null,
      sizeBytes: null,
      size: null,
      sha256: null,
      key: bad.manifestKey,
      scope: null,
      expiry: null,
      deletable: { allowed: false, reason: 'its manifest does not validate: retention and this API leave it for a person to inspect', forceable: false },
      error: bad.reason,
      job: null,
    });
  }
  items.sort(byCreatedDesc);
  return { name, config: db.config, storage: db.storage, prefix: db.config.storage.prefix, snapshot, drills, plan, items, byRef, refreshedAt: now };
}

const byCreatedDesc = (a: BackupItem, b: BackupItem): number => (b.created ?? '').localeCompare(a.created ?? '') || a.id.localeCompare(b.id);

function jobItem(job: Job<JobData, JobOutcome>, status: 'failed' | 'running'): BackupItem {
  const created = new Date(job.timestamp).toISOString();
  const finished = job.finishedOn ? new Date(job.finishedOn).toISOString() : null;
  return {
    id: `job:backup:${job.id}`,
    status,
    database: job.data.database,
    tier: null,
    created,
    finished,
    durationMs: job.finishedOn && job.processedOn ? job.finishedOn - job.processedOn : null,
    duration: job.finishedOn && job.processedOn ? formatDuration(job.finishedOn - job.processedOn) : null,
    sizeBytes: null,
    size: null,
    sha256: null,
    key: null,
    scope: null,
    expiry: null,
    deletable: null,
    error: status === 'failed' ? (job.failedReason ?? 'failed').replace(/^\[exit \d+\] /, '') : null,
    job: `backup:${job.id}`,
    ...(status === 'running' ? { progress: job.progress } : {}),
  };
}

export interface ListResult {
  page: number;
  limit: number;
  total: number;
  pages: number;
  items: BackupItem[];
  summary: {
    count: number;
    totalBytes: number;
    totalSize: string;
    lastSuccessful: { id: string; database: string; created: string; sizeBytes: number; size: string; ageMs: number; age: string; badge: 'green' | 'amber' | 'red' } | null;
    lastFailed: { job: string; database: string; at: string; error: string } | null;
    nextScheduled: { database: string; kind: string; at: string } | null;
  };
  catalogAt: string;
}

const SORTERS: Record<BackupListQuery['sort'], (a: BackupItem, b: BackupItem) => number> = {
  created: (a, b) => (a.created ?? '').localeCompare(b.created ?? ''),
  size: (a, b) => (a.sizeBytes ?? -1) - (b.sizeBytes ?? -1),
  duration: (a, b) => (a.durationMs ?? -1) - (b.durationMs ?? -1),
  tier: (a, b) => (a.tier ?? '').localeCompare(b.tier ?? ''),
  database: (a, b) => a.database.localeCompare(b.database),
  status: (a, b) => a.status.localeCompare(b.status),
};

/** GET /backups: filter, sort and page the cached history; `deletable` is judged now, for the page's items only. */
export async function listHistory(history: BackupHistory, query: BackupListQuery, config: PgdrillConfig, now = new Date()): Promise<ListResult> {
  const names = query.database ? [history.cached(query.database).database.name] : history.names;
  const [views, live] = await Promise.all([Promise.all(names.map((n) => history.view(n, now))), history.live()]);
  const from = query.from ? `${query.from}T00:00:00.000Z` : undefined;
  const to = query.to ? `${query.to}T23:59:59.999Z` : undefined;
  const keep = (item: BackupItem): boolean =>
    (!query.tier || item.tier === query.tier) &&
    (!query.status || item.status === query.status) &&
    (!from || (item.created !== null && item.created >= from)) &&
    (!to || (item.created !== null && item.created <= to)) &&
    names.includes(item.database);
  const lists = [...views.map((v) => v.items), live.jobs].filter((list) => list.length > 0);
  let matching: BackupItem[];
  // A cached list is newest first already: only merged lists or another order need sorting.
  if (query.sort === 'created' && lists.length <= 1) matching = (lists[0] ?? []).filter(keep);
  else {
    const sorter = SORTERS[query.sort];
    matching = lists.flat().filter(keep);
    matching.sort((a, b) => sorter(b, a) || a.id.localeCompare(b.id));
  }
  if (query.order === 'asc') matching.reverse();
  const total = matching.length;
  const start = (query.page - 1) * query.limit;
  const items = matching.slice(start, start + query.limit).map((item) => withDeletable(item, views, now, config.service.api.deleteMinAgeHours));

  let totalBytes = 0;
  let count = 0;
  let lastOk: BackupItem | undefined;
  let lastFailed: BackupItem | undefined;
  for (const item of matching) {
    if (item.status === 'ok') {
      count += 1;
      totalBytes += item.sizeBytes ?? 0;
      if (!lastOk || (item.created ?? '') > (lastOk.created ?? '')) lastOk = item;
    } else if (item.status === 'failed' && (!lastFailed || (item.finished ?? '') > (lastFailed.finished ?? ''))) lastFailed = item;
  }
  const next = live.runs
    .filter((r) => r.kind === 'backup' && r.next && names.includes(r.database))
    .sort((a, b) => a.next!.localeCompare(b.next!))[0];
  const maxAge = config.monitors.backupMaxAgeHours;
  const ageMs = lastOk ? now.getTime() - Date.parse(lastOk.created!) : 0;
  return {
    page: query.page,
    limit: query.limit,
    total,
    pages: Math.max(1, Math.ceil(total / query.limit)),
    items,
    summary: {
      count,
      totalBytes,
      totalSize: formatBytes(totalBytes),
      lastSuccessful: lastOk
        ? { id: lastOk.id, database: lastOk.database, created: lastOk.created!, sizeBytes: lastOk.sizeBytes!, size: lastOk.size!, ageMs, age: formatAge(Math.max(0, ageMs)), badge: badgeOf(ageMs, maxAge) }
        : null,
      lastFailed: lastFailed ? { job: lastFailed.job!, database: lastFailed.database, at: lastFailed.finished ?? lastFailed.created!, error: lastFailed.error ?? '' } : null,
      nextScheduled: next ? { database: next.database, kind: next.kind, at: next.next! } : null,
    },
    catalogAt: views.reduce((oldest, v) => (v.refreshedAt < oldest ? v.refreshedAt : oldest), now).toISOString(),
  };
}

function withDeletable(item: BackupItem, views: DatabaseView[], now: Date, minAgeHours: number): BackupItem {
  if (item.status !== 'ok') return item;
  const found = views.find((v) => v.name === item.database)?.byRef.get(item.id);
  if (!found) return item;
  const refusal = deletionRefusal(found.entry, found.keepReasons, now, minAgeHours);
  return { ...item, deletable: refusal ? { allowed: false, reason: refusal.reason, forceable: refusal.forceable } : { allowed: true, forceable: false } };
}

