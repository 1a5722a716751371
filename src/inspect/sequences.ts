import type { Queryable } from './database.ts';
import { qualifiedName, quoteIdent } from './names.ts';

// Sequences owned by a column (serial, identity, ALTER SEQUENCE … OWNED BY) next to the values
// that column holds: a sequence behind its column makes the next insert collide.

export interface OwnedSequence {
  /** `schema.sequence`. */
  sequence: string;
  /** Quoted, for SQL. */
  sequenceSql: string;
  schema: string;
  table: string;
  column: string;
  /** `identity` (GENERATED … AS IDENTITY) or `owned` (serial, OWNED BY). */
  kind: 'identity' | 'owned';
  increment: bigint;
  minValue: bigint;
  maxValue: bigint;
  /** What nextval() would return (last_value + increment once called, else last_value). */
  next: bigint;
  /** Whether the column holds integers the sequence's values can be compared with. */
  comparable: boolean;
  /** The column's largest and smallest value (null when the table is empty or not comparable). */
  columnMax: bigint | null;
  columnMin: bigint | null;
}

const INTEGER_TYPES = new Set(['smallint', 'integer', 'bigint']);

/** Whether the sequence's next value is beyond every value its column holds (in its direction). */
export function sequenceAhead(s: Pick<OwnedSequence, 'increment' | 'next' | 'columnMax' | 'columnMin'>): boolean {
  return s.increment > 0n ? s.columnMax === null || s.next > s.columnMax : s.columnMin === null || s.next < s.columnMin;
}

/** Every sequence owned by a column of a user table, with its next value and the column's range. */
export async function ownedSequences(db: Queryable): Promise<OwnedSequence[]> {
  const { rows: owned } = await db.query<{
    seq_schema: string;
    seq_name: string;
    schema: string;
    table: string;
    column: string;
    type: string;
    deptype: string;
    increment: string;
    min: string;
    max: string;
  }>(
    `SELECT sn.nspname AS seq_schema, s.relname AS seq_name, n.nspname AS schema, c.relname AS "table", a.attname AS "column",
            format_type(a.atttypid, NULL) AS type, d.deptype::text AS deptype,
            q.seqincrement::text AS increment, q.seqmin::text AS min, q.seqmax::text AS max
       FROM pg_depend d
       JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
       JOIN pg_namespace sn ON sn.oid = s.relnamespace
       JOIN pg_sequence q ON q.seqrelid = s.oid
       JOIN pg_class c ON c.oid = d.refobjid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.refobjsubid
      WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
        AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')
      ORDER BY 1, 2`,
  );
  if (owned.length === 0) return [];
  // One round trip: each sequence's state and its column's range (FROM the table: partitions and children included).
  const parts = owned.map((o, i) => {
    const seq = qualifiedName({ schema: o.seq_schema, name: o.seq_name });
    const range = INTEGER_TYPES.has(o.type)
      ? `(SELECT max(${quoteIdent(o.column)})::text FROM ${qualifiedName({ schema: o.schema, name: o.table })}) AS hi, (SELECT min(${quoteIdent(o.column)})::text FROM ${qualifiedName({ schema: o.schema, name: o.table })}) AS lo`
      : 'NULL::text AS hi, NULL::text AS lo';
    return `SELECT ${i} AS i, last_value::text AS last_value, is_called, ${range} FROM ${seq}`;
  });
  const { rows } = await db.query<{ i: number; last_value: string; is_called: boolean; hi: string | null; lo: string | null }>(parts.join(' UNION ALL '));
  const state = new Map(rows.map((r) => [Number(r.i), r]));
  return owned.map((o, i) => {
    const r = state.get(i)!;
    const increment = BigInt(o.increment);
    const last = BigInt(r.last_value);
    return {
      sequence: `${o.seq_schema}.${o.seq_name}`,
      sequenceSql: qualifiedName({ schema: o.seq_schema, name: o.seq_name }),
      schema: o.schema,
      table: o.table,
      column: o.column,
      kind: o.deptype === 'i' ? 'identity' : 'owned',
      increment,
      minValue: BigInt(o.min),
      maxValue: BigInt(o.max),
      next: r.is_called ? last + increment : last,
      comparable: INTEGER_TYPES.has(o.type),
      columnMax: r.hi === null ? null : BigInt(r.hi),
      columnMin: r.lo === null ? null : BigInt(r.lo),
    };
  });
}
