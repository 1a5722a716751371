import { defineCheck } from '../src/check/index.ts';

export default defineCheck({
  id: 'amcheck',
  title: 'Every B-tree index verifies (amcheck)',
  description:
    'bt_index_check (the amcheck extension, created in the recovered database) on every valid B-tree index: a physical restore copies pages as they are, so an index can carry corruption the table reads would not show.',
  async run() {
    return { status: 'skip', summary: 'not applicable: a dump restore builds every index afresh (amcheck runs in point-in-time drills)' };
  },
  async pointInTime({ db }) {
    await db.query('CREATE EXTENSION IF NOT EXISTS amcheck');
    const { rows: indexes } = await db.query<{ oid: number; name: string }>(
      `SELECT c.oid::int AS oid, c.oid::regclass::text AS name
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
        WHERE am.amname = 'btree' AND c.relkind = 'i' AND i.indisvalid AND i.indisready AND c.relpersistence <> 't'
        ORDER BY 1`,
    );
    const failures: string[] = [];
    for (const index of indexes) {
      try {
        await db.query('SELECT bt_index_check($1::regclass)', [index.oid]);
      } catch (error) {
        failures.push(`${index.name}: ${(error as Error).message}`);
      }
    }
    const evidence = { indexesChecked: indexes.length, failures };
    return failures.length
      ? { status: 'fail', summary: `${failures.length} of ${indexes.length} B-tree index(es) fail amcheck: ${failures.slice(0, 3).join('; ')}`, evidence }
      : { status: 'pass', summary: `${indexes.length} B-tree indexes verified with bt_index_check`, evidence };
  },
});
