import pg from 'pg';
import { displayName, pgClientConfig, type BackupManifest, type ConnectionInfo } from '../dump/index.ts';
import type { CheckContext, CheckOutcome } from '../drill/types.ts';

// After `pgdrill restore`: the drill's own record-count check (checks/record-counts.ts), run
// against the restored database — the comparison is not implemented twice.

export interface CountRow {
  /** `schema.table` */
  table: string;
  expected: number;
  /** null when the table does not exist in the target. */
  actual: number | null;
}

export interface CountComparison {
  status: CheckOutcome['status'];
  summary: string;
  tolerance: number;
  rows: CountRow[];
}

interface RecordCountEvidence {
  tables: Array<{ schema: string; name: string; expected: number; actual: number | null }>;
  tolerance: number;
}

/**
 * Counts the rows of every table `manifest` lists (pass a manifest narrowed to what was restored)
 * in the target and compares them with the manifest's snapshot counts, within `tolerance`.
 */
export async function compareRecordCounts(options: { target: ConnectionInfo; manifest: BackupManifest; tolerance: number }): Promise<CountComparison> {
  // Loaded on demand: checks/ imports the drill runner, which imports this package.
  const { default: check } = await import('../../checks/record-counts.ts');
  const db = new pg.Pool({ ...pgClientConfig(options.target), max: 1 });
  try {
    // The check reads only state.config.drill.recordCountTolerance.
    const state = { config: { drill: { recordCountTolerance: options.tolerance } } } as unknown as CheckContext['state'];
    const outcome = await check.run({ db, manifest: options.manifest, state });
    const evidence = outcome.evidence as unknown as RecordCountEvidence;
    return {
      status: outcome.status,
      summary: outcome.summary,
      tolerance: evidence.tolerance,
      rows: evidence.tables.map((t) => ({ table: displayName(t), expected: t.expected, actual: t.actual })),
    };
  } finally {
    await db.end();
  }
}
