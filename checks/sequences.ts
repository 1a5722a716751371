import type { Pool } from 'pg';
import { defineCheck, type CheckOutcome } from '../src/check/index.ts';

/** Sequences owned by a column (serial, identity) must be at or past the column's largest value, or the next insert collides. */
async function sequencesAhead(db: Pool): Promise<CheckOutcome> {
  const { rows: owned } = await db.query<{ seq: string; tbl: string; col: string; last_value: string | null }>(
    `SELECT s.oid::regclass::text AS seq, t.oid::regclass::text AS tbl, quote_ident(a.attname) AS col, ps.last_value::text AS last_value
       FROM pg_class s
       JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
       JOIN pg_class t ON t.oid = d.refobjid
       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
       JOIN pg_namespace n ON n.oid = s.relnamespace
       JOIN pg_sequences ps ON ps.schemaname = n.nspname AND ps.sequencename = s.relname
      WHERE s.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        -- A sequence numbering an integer column (one feeding a text key such as 'ID-' || nextval is not compared).
        AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
      ORDER BY 1`,
  );
  if (owned.length === 0) return { status: 'skip', summary: 'not applicable: no sequence is owned by a table column' };
  const behind: string[] = [];
  for (const s of owned) {
    const { rows } = await db.query<{ max: string | null }>(`SELECT max(${s.col})::text AS max FROM ${s.tbl}`);
    const max = rows[0]?.max;
    // last_value is null until the sequence is first used; then any existing value is ahead of it.
    if (max !== null && max !== undefined && (s.last_value === null || BigInt(s.last_value) < BigInt(max))) {
      behind.push(`${s.seq} is at ${s.last_value ?? 'its start'} but ${s.tbl}.${s.col} holds ${max}`);
    }
  }
  const evidence = { sequences: owned.length, behind };
  return behind.length
    ? { status: 'fail', summary: `${behind.length} sequence(s) behind their column (the next insert would collide): ${behind.slice(0, 3).join('; ')}`, evidence }
    : { status: 'pass', summary: `${owned.length} column-owned sequence(s) at or past their column's largest value`, evidence };
}

export default defineCheck({
  id: 'sequences',
  title: 'Sequences are ahead of the rows they number',
  description: "Every sequence owned by a column (serial, identity) stands at or past the column's largest value, so the restored database accepts new rows without key collisions.",
  run: ({ db }) => sequencesAhead(db),
  pointInTime: ({ db }) => sequencesAhead(db),
});
