import { countRows, existingTables, tableKey } from '../src/dump/index.ts';
import { defineCheck } from '../src/drill/index.ts';

export default defineCheck({
  id: 'record-counts',
  title: 'Record counts: every table matches the dump\'s snapshot',
  description: "Every table's row count equals the count taken in the dump's own snapshot (default: exact).",
  async run({ db, manifest, state }) {
    const client = await db.connect();
    try {
      const present = await existingTables(client, manifest.tables);
      const counted = await countRows(client, manifest.tables.filter((t) => present.has(tableKey(t))));
      const actual = new Map(counted.map((c) => [tableKey(c), c.rows]));
      const tolerance = state.config.drill.recordCountTolerance;
      const tables = manifest.tables.map((t) => ({ schema: t.schema, name: t.name, expected: t.rows, actual: actual.get(tableKey(t)) ?? null }));
      const bad = tables.filter((t) => t.actual === null || Math.abs(t.actual - t.expected) > tolerance * t.expected);
      const total = tables.reduce((sum, t) => sum + t.expected, 0);
      if (bad.length === 0) {
        return { status: 'pass', summary: `${tables.length} tables, ${total.toLocaleString('en')} rows: every count matches`, evidence: { tables, tolerance } };
      }
      const detail = bad
        .slice(0, 5)
        .map((t) => `${t.schema}.${t.name} ${t.actual === null ? 'missing' : `${t.actual} of ${t.expected} rows`}`)
        .join(', ');
      return { status: 'fail', summary: `${bad.length} of ${tables.length} tables differ: ${detail}${bad.length > 5 ? ', …' : ''}`, evidence: { tables, tolerance } };
    } finally {
      client.release();
    }
  },
});
