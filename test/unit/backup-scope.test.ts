// Full and partial backups (issue 11 item 1): how a manifest's scope and series are derived, and
// that restore, the drill and its freshness check choose full backups unless asked by key.
import { describe, expect, it } from 'vitest';
import freshness from '../../checks/freshness.ts';
import { backupSeries, selectBackup, type BackupManifest, type BackupTier, type Catalog } from '../../src/catalog/index.ts';
import type { CheckContext, DrillState } from '../../src/check/index.ts';
import { olderFullArchive } from '../../src/drill/prepare.ts';
import { testManifest } from '../helpers/manifest.ts';


/** A manifest that validates; `options` and `scope` as a backup with those flags writes them. */
function manifest(
  id: string,
  startedAt: string,
  opts: { tier?: BackupTier; scope?: 'full' | 'partial'; schemaOnly?: boolean; tables?: string[]; excludeTables?: string[] } = {},
): BackupManifest {
  return testManifest({
    id,
    tier: opts.tier ?? 'daily',
    source: { host: '127.0.0.1', port: 5432, user: 'backup' },
    encryption: { algorithm: 'none' },
    options: { schemaOnly: opts.schemaOnly ?? false, tables: opts.tables ?? [], excludeTables: opts.excludeTables ?? ['*._prisma_migrations'] },
    ...(opts.scope ? { scope: opts.scope } : {}),
    startedAt,
    finishedAt: startedAt,
    durationMs: 0,
  });
}

const catalogOf = (...manifests: BackupManifest[]): Catalog => ({
  backups: manifests.map((m) => ({ manifest: m, manifestKey: `backups/manifests/${m.tier}/${m.id}.json` })),
  invalid: [],
});

describe('backupSeries', () => {
  it('takes the recorded scope; a manifest written before `scope` is partial only with --schema-only or --tables', () => {
    expect(backupSeries(manifest('a', '2026-11-23T01:00:00Z', { scope: 'full' }))).toEqual({ full: true, series: 'full' });
    expect(backupSeries(manifest('b', '2026-11-23T01:00:00Z'))).toEqual({ full: true, series: 'full' });
    expect(backupSeries(manifest('c', '2026-11-23T01:00:00Z', { schemaOnly: true, excludeTables: [] }))).toEqual({ full: false, series: 'partial: schema-only' });
    expect(backupSeries(manifest('d', '2026-11-23T01:00:00Z', { tables: ['public.users'], excludeTables: [] }))).toEqual({ full: false, series: 'partial: tables public.users' });
    // Exclusions alone are the deployment's configured ones unless the manifest says otherwise.
    expect(backupSeries(manifest('e', '2026-11-23T01:00:00Z', { excludeTables: ['public.audit_logs'] })).full).toBe(true);
    expect(backupSeries(manifest('f', '2026-11-23T01:00:00Z', { scope: 'partial', excludeTables: ['public.audit_logs'] }))).toEqual({
      full: false,
      series: 'partial: exclude-table public.audit_logs',
    });
  });

  it('names one series per distinct selection, whatever the order tables were given in', () => {
    const series = (tables: string[], schemaOnly = false) => backupSeries(manifest('x', '2026-11-23T01:00:00Z', { tables, schemaOnly })).series;
    expect(series(['public.users', 'public.lgas'])).toBe('partial: tables public.lgas,public.users; exclude-table *._prisma_migrations');
    expect(series(['public.lgas', 'public.users'])).toBe(series(['public.users', 'public.lgas']));
    expect(series(['public.lgas'], true)).toBe('partial: schema-only; tables public.lgas; exclude-table *._prisma_migrations');
    expect(series(['public.lgas'], true)).not.toBe(series(['public.lgas']));
  });
});

describe('selectBackup', () => {
  const monthlyCopy = manifest('2026-11-app_db', '2026-11-01T01:00:00Z', { tier: 'monthly', scope: 'full' });
  const fullEarly = manifest('2026-11-23-app_db', '2026-11-23T01:00:00Z', { scope: 'full' });
  const fullLate = manifest('2026-11-23-app_db-2', '2026-11-23T13:00:00Z', { scope: 'full' });
  const schemaOnly = manifest('2026-11-23-app_db-3', '2026-11-23T14:00:00Z', { scope: 'partial', schemaOnly: true });
  const tablesOnly = manifest('2026-11-24-app_db', '2026-11-24T01:00:00Z', { scope: 'partial', tables: ['public.users'] });
  const catalog = catalogOf(monthlyCopy, fullEarly, fullLate, schemaOnly, tablesOnly);

  it('chooses the newest full backup by default and by date, never a newer partial one', () => {
    expect(selectBackup(catalog)?.manifest.id).toBe(fullLate.id);
    expect(selectBackup(catalog, { date: '2026-11-23' })?.manifest.id).toBe(fullLate.id);
    // A day with only a partial backup has no backup to restore by date.
    expect(selectBackup(catalog, { date: '2026-11-24' })).toBeUndefined();
    expect(selectBackup(catalog, { tier: 'daily' })?.manifest.id).toBe(fullLate.id);
  });

  it('chooses only a full monthly copy for a month; a key selects any backup, partial ones included', () => {
    expect(selectBackup(catalog, { monthly: '2026-11' })?.manifest.id).toBe(monthlyCopy.id);
    const legacyPartialCopy = manifest('2026-12-app_db', '2026-12-01T01:00:00Z', { tier: 'monthly', schemaOnly: true });
    expect(selectBackup(catalogOf(legacyPartialCopy), { monthly: '2026-12' })).toBeUndefined();
    expect(selectBackup(catalog, { key: schemaOnly.id })?.manifest.id).toBe(schemaOnly.id);
    expect(selectBackup(catalog, { key: tablesOnly.objects.dump.key })?.manifest.id).toBe(tablesOnly.id);
  });

  it('the drill proves the oldest FULL monthly copy older than the backup under test', () => {
    const legacyPartialCopy = manifest('2026-09-app_db', '2026-09-01T01:00:00Z', { tier: 'monthly', schemaOnly: true });
    const october = manifest('2026-10-app_db', '2026-10-01T01:00:00Z', { tier: 'monthly', scope: 'full' });
    expect(olderFullArchive(catalogOf(legacyPartialCopy, october, monthlyCopy, fullLate), fullLate)?.id).toBe(october.id);
    expect(olderFullArchive(catalogOf(legacyPartialCopy, fullLate), fullLate)).toBeUndefined();
  });
});

describe('freshness check', () => {
  function context(catalog: BackupManifest[], now: string): CheckContext {
    const state = {
      now,
      catalog: catalog.map((m) => ({ id: m.id, tier: m.tier, database: m.database, startedAt: m.startedAt, finishedAt: m.finishedAt, ...backupSeries(m) })),
      config: { drill: { freshnessHours: 26, freshnessSeverity: 'fail' } },
    } as unknown as DrillState; // only the fields the check reads
    return { db: undefined as never, manifest: catalog[0]!, state };
  }

  it('judges the newest full backup: a fresh partial backup does not hide stale full ones', async () => {
    const full = manifest('2026-11-20-app_db', '2026-11-20T01:00:00Z', { scope: 'full' });
    const partial = manifest('2026-11-23-app_db', '2026-11-23T01:00:00Z', { scope: 'partial', schemaOnly: true });
    const stale = await freshness.run(context([full, partial], '2026-11-23T03:00:00Z'));
    expect(stale.status).toBe('fail');
    expect(stale.summary).toMatch(/^newest full backup 2026-11-20-app_db is 74\.0 h old, older than the 26 h limit/);
    const fresh = await freshness.run(context([partial, manifest('2026-11-22-app_db', '2026-11-22T13:00:00Z', { scope: 'full' })], '2026-11-23T03:00:00Z'));
    expect(fresh).toMatchObject({ status: 'pass', summary: 'newest full backup 2026-11-22-app_db is 14.0 h old (limit 26 h)' });
  });
});
