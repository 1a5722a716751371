import { countLargeObjects, countRows, existingTables, tableKey } from '../src/dump/index.ts';
import { defineCheck } from '../src/drill/index.ts';

export default defineCheck({
  id: 'record-counts',
  title: 'Record counts: every table matches the dump\'s snapshot',
  description: "Every table's row count, and the number of large objects, equals the count taken in the dump's own snapshot (default: exact).",
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
      const largeObjects = manifest.largeObjects === undefined ? undefined : { expected: manifest.largeObjects, actual: await countLargeObjects(client) };
      const evidence = { tables, tolerance, ...(largeObjects ? { largeObjects } : {}) };
      const lostObjects = largeObjects !== undefined && largeObjects.actual !== largeObjects.expected;
      if (bad.length === 0 && !lostObjects) {
        const objects = largeObjects ? ` and ${largeObjects.actual} large object(s)` : '';
        return { status: 'pass', summary: `${tables.length} tables, ${total.toLocaleString('en')} rows${objects}: every count matches`, evidence };
      }
      const detail = [
        ...bad.slice(0, 5).map((t) => `${t.schema}.${t.name} ${t.actual === null ? 'missing' : `${t.actual} of ${t.expected} rows`}`),
        ...(lostObjects ? [`${largeObjects.actual} of ${largeObjects.expected} large objects`] : []),
      ].join(', ');
      return { status: 'fail', summary: `${bad.length} of ${tables.length} tables differ${lostObjects ? ' and large objects differ' : ''}: ${detail}${bad.length > 5 ? ', …' : ''}`, evidence };
    } finally {
      client.release();
    }
  },
});
