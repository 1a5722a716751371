import type { BackupManifest } from '../catalog/index.ts';
import { countLargeObjects, countRows, existingTables, type Queryable } from './database.ts';
import { displayName, tableKey } from './names.ts';

// Row counts of a restored database against the counts the backup took in its own snapshot. One
// comparison for the drill (its record-counts check and the report's reconciliation table) and for
// `pgdrill restore` (exit 4 on a difference).

export interface TableCountComparison {
  schema: string;
  name: string;
  /** Rows in the backup's snapshot. */
  expected: number;
  /** Rows in the restored database; null when the table does not exist there. */
  actual: number | null;
}

export interface RecordCountComparison {
  status: 'pass' | 'fail';
  /** One line: "42 tables, 1,204,311 rows: every count matches" or what differs. */
  summary: string;
  /** Allowed relative difference per table (0 = exact). */
  tolerance: number;
  /** Every table the manifest lists, in its order. */
  tables: TableCountComparison[];
  /** Large objects, when the manifest recorded them (whole-database data backups). */
  largeObjects?: { expected: number; actual: number };
}

/** Whether a table's restored count is outside the tolerance (a missing table always is). */
export function countDiffers(table: TableCountComparison, tolerance: number): boolean {
  return table.actual === null || Math.abs(table.actual - table.expected) > tolerance * table.expected;
}

/**
 * Counts the rows of every table `manifest` lists (pass a manifest narrowed to what was restored)
 * in `db`, and the large objects when the manifest has their count, and compares them with the
 * snapshot's counts within `tolerance`.
 */
export async function compareRecordCounts(
  db: Queryable,
  manifest: Pick<BackupManifest, 'tables' | 'largeObjects'>,
  tolerance: number,
): Promise<RecordCountComparison> {
  const present = await existingTables(db, manifest.tables);
  const counted = await countRows(db, manifest.tables.filter((t) => present.has(tableKey(t))));
  const actual = new Map(counted.map((c) => [tableKey(c), c.rows]));
  const tables = manifest.tables.map((t) => ({ schema: t.schema, name: t.name, expected: t.rows, actual: actual.get(tableKey(t)) ?? null }));
  const largeObjects = manifest.largeObjects === undefined ? undefined : { expected: manifest.largeObjects, actual: await countLargeObjects(db) };
  const bad = tables.filter((t) => countDiffers(t, tolerance));
  const lostObjects = largeObjects !== undefined && largeObjects.actual !== largeObjects.expected;
  const base = { tolerance, tables, ...(largeObjects ? { largeObjects } : {}) };
  if (bad.length === 0 && !lostObjects) {
    const total = tables.reduce((sum, t) => sum + t.expected, 0);
    const objects = largeObjects ? ` and ${largeObjects.actual} large object(s)` : '';
    return { status: 'pass', summary: `${tables.length} tables, ${total.toLocaleString('en')} rows${objects}: every count matches`, ...base };
  }
  const detail = [
    ...bad.slice(0, 5).map((t) => (t.actual === null ? `${displayName(t)} missing` : `${displayName(t)}: ${t.actual.toLocaleString('en')} of ${t.expected.toLocaleString('en')} rows`)),
    ...(lostObjects ? [`${largeObjects.actual.toLocaleString('en')} of ${largeObjects.expected.toLocaleString('en')} large objects`] : []),
  ].join(', ');
  return {
    status: 'fail',
    summary: `${bad.length} of ${tables.length} tables differ${lostObjects ? ' and large objects differ' : ''}: ${detail}${bad.length > 5 ? ', …' : ''}`,
    ...base,
  };
}
