import type { Pool } from 'pg';
import { displayName, existingTables, qualifiedName, quoteIdent, tableKey, type TableRef } from '../src/inspect/index.ts';
import { defineCheck, type CheckOutcome } from '../src/check/index.ts';

export default defineCheck({
  id: 'tables-readable',
  title: 'Every table readable end to end; foreign keys valid',
  description: "Every row of every table and every large object is read in full (BR-008); every foreign key is valid with no orphaned rows.",
  // Point in time: every table the recovered database has.
  pointInTime: ({ db, pitr }) => readEveryTable(db, pitr.tables),
  async run({ db, manifest }) {
    if (manifest.tables.length === 0 && !manifest.largeObjects) return { status: 'skip', summary: 'not applicable: the backup holds no tables and no large objects' };
    return readEveryTable(db, manifest.tables);
  },
});

async function readEveryTable(db: Pool, tables: readonly TableRef[]): Promise<CheckOutcome> {
  const problems: string[] = [];
  const present = await existingTables(db, tables);
  let bytesRead = 0;
  for (const table of tables) {
    if (!present.has(tableKey(table))) {
      problems.push(`${displayName(table)} is missing`);
      continue;
    }
    try {
      // Casting the whole row to text reads and de-TOASTs every column; only the total comes back.
      // ROW(t.*), not t: a column named t would otherwise be read instead of the row.
      const { rows } = await db.query<{ bytes: string | null }>(`SELECT sum(octet_length(ROW(t.*)::text))::bigint AS bytes FROM ONLY ${qualifiedName(table)} AS t`);
      bytesRead += Number(rows[0]?.bytes ?? 0);
    } catch (error) {
      problems.push(`${displayName(table)} cannot be read: ${(error as Error).message}`);
    }
  }
  // Large objects are read end to end too (lo_get fails on a damaged one).
  const { rows: objects } = await db.query<{ n: string; bytes: string | null }>(
    'SELECT count(*) AS n, sum(length(lo_get(oid)))::bigint AS bytes FROM pg_catalog.pg_largeobject_metadata',
  );
  bytesRead += Number(objects[0]?.bytes ?? 0);
  const { rows: fks } = await db.query<{ name: string; child: string; parent: string; child_cols: string[]; parent_cols: string[]; validated: boolean }>(
    `SELECT c.conname AS name, c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent, c.convalidated AS validated,
            ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i) AS child_cols,
            ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i) AS parent_cols
       FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid
      WHERE c.contype = 'f' AND c.conparentid = 0 AND r.relnamespace::regnamespace::text NOT IN ('pg_catalog', 'information_schema')`,
  );
  const notValidated: string[] = [];
  for (const fk of fks) {
    // NOT VALID in the source is restored as NOT VALID (the schema fingerprint compares that);
    // its old rows were never promised to match, so they are not counted as orphans.
    if (!fk.validated) {
      notValidated.push(`${fk.child}.${fk.name}`);
      continue;
    }
    const notNull = fk.child_cols.map((c) => `c.${quoteIdent(c)} IS NOT NULL`).join(' AND ');
    const join = fk.child_cols.map((c, i) => `p.${quoteIdent(fk.parent_cols[i]!)} = c.${quoteIdent(c)}`).join(' AND ');
    const { rows } = await db.query<{ orphans: string }>(
      `SELECT count(*) AS orphans FROM ${fk.child} c WHERE ${notNull} AND NOT EXISTS (SELECT 1 FROM ${fk.parent} p WHERE ${join})`,
    );
    if (Number(rows[0]?.orphans) > 0) problems.push(`foreign key ${fk.name}: ${rows[0]!.orphans} row(s) in ${fk.child} point at no ${fk.parent} row`);
  }
  const evidence = { tablesRead: present.size, largeObjectsRead: Number(objects[0]?.n ?? 0), bytesRead, foreignKeysChecked: fks.length - notValidated.length, notValidated, problems };
  return problems.length
    ? { status: 'fail', summary: `${problems.length} problem(s): ${problems.slice(0, 3).join('; ')}`, evidence }
    : { status: 'pass', summary: `${present.size} tables and ${Number(objects[0]?.n ?? 0)} large object(s) read in full (${(bytesRead / 1048576).toFixed(1)} MiB of row text); ${fks.length - notValidated.length} foreign keys valid${notValidated.length ? ` (${notValidated.length} NOT VALID in the source, not checked)` : ''}`, evidence };
}
