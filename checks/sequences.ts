import type { Pool } from 'pg';
import { ownedSequences, sequenceAhead } from '../src/inspect/index.ts';
import { defineCheck, type CheckOutcome } from '../src/check/index.ts';

/** Every column-owned sequence feeding an integer column must hand out a value beyond the column's current ones. */
async function sequencesAhead(db: Pool): Promise<CheckOutcome> {
  const sequences = await ownedSequences(db);
  const comparable = sequences.filter((s) => s.comparable);
  const notComparable = sequences.filter((s) => !s.comparable).map((s) => `${s.sequence} (${s.schema}.${s.table}.${s.column} is not an integer column)`);
  if (comparable.length === 0) {
    return {
      status: 'skip',
      summary: sequences.length ? `not applicable: no sequence feeds an integer column (${notComparable.join(', ')})` : 'not applicable: no sequence is owned by a column',
      evidence: { sequences: sequences.length, notComparable },
    };
  }
  const behind = comparable.filter((s) => !sequenceAhead(s));
  const describe = (s: (typeof comparable)[number]) =>
    `${s.schema}.${s.table}.${s.column}: ${s.sequence} would hand out ${s.next} but the column already holds ${s.increment > 0n ? `up to ${s.columnMax}` : `down to ${s.columnMin}`} (the next insert collides)`;
  const evidence = {
    checked: comparable.length,
    behind: behind.map((s) => ({ sequence: s.sequence, column: `${s.schema}.${s.table}.${s.column}`, next: String(s.next), columnMax: String(s.columnMax), columnMin: String(s.columnMin) })),
    notComparable,
  };
  if (behind.length > 0) {
    return { status: 'fail', summary: `${behind.length} of ${comparable.length} sequence(s) behind their column: ${behind.slice(0, 3).map(describe).join('; ')}${behind.length > 3 ? '; …' : ''}`, evidence };
  }
  const withRows = comparable.filter((s) => s.columnMax !== null).length;
  return {
    status: 'pass',
    summary: `${comparable.length} sequence(s) ahead of their column (${withRows} on tables with rows)${notComparable.length ? `; ${notComparable.length} feed a non-integer column, not compared` : ''}`,
    evidence,
  };
}

export default defineCheck({
  id: 'sequences',
  title: 'Sequences are ahead of the columns they feed',
  description: "Every sequence owned by a column (identity, serial, OWNED BY) hands out a value beyond the column's current ones, so the next insert does not collide.",
  async run({ db, manifest }) {
    if (manifest.options.schemaOnly) return { status: 'skip', summary: 'not applicable: schema-only backup (no rows, sequences at their start)' };
    return sequencesAhead(db);
  },
  pointInTime: ({ db }) => sequencesAhead(db),
});
