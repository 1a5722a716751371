import type { Pool } from 'pg';

// The keys of stored files a database refers to (a file set's `referencesQuery`, e.g. `select
// storage_key from attachments`), read through a cursor in batches, distinct and in "C" collation
// order (UTF-8 bytes: the order of a file manifest), so that any number of rows is merged against
// the manifest without being held in memory.

const BATCH = 5_000;

/** The query as a subquery: without the trailing semicolons people write. */
function bare(query: string): string {
  return query.trim().replace(/;+\s*$/, '');
}

/**
 * Runs `query` read-only and yields the distinct non-null values of its first column as text,
 * ascending by bytes. Errors name the query's problem as PostgreSQL reports it.
 */
export async function* referencedKeys(db: Pool, query: string): AsyncGenerator<string> {
  const client = await db.connect();
  let open = false;
  try {
    await client.query('BEGIN READ ONLY');
    open = true;
    await client.query(
      `DECLARE pgdrill_refs NO SCROLL CURSOR FOR
         SELECT DISTINCT (refs.k::text) COLLATE "C" AS k FROM (${bare(query)}) AS refs(k) WHERE refs.k IS NOT NULL ORDER BY 1`,
    );
    for (;;) {
      const { rows } = await client.query<{ k: string }>(`FETCH ${BATCH} FROM pgdrill_refs`);
      for (const row of rows) yield row.k;
      if (rows.length < BATCH) break;
    }
  } finally {
    if (open) await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}
