import { defineCheck } from '../src/check/index.ts';

export default defineCheck({
  id: 'record-counts',
  title: 'Record counts: every table matches the dump\'s snapshot',
  description: "Every table's row count, and the number of large objects, equals the count taken in the dump's own snapshot (default: exact).",
  // The drill counts the restored database right after the restore (compareRecordCounts, as
  // `pgdrill restore` does); this check judges that comparison.
  pointInTime: "there is no dump manifest to count against: a point-in-time restore has the rows as they were at the target, which nothing recorded",
  async run({ state }) {
    const counts = state.recordCounts;
    if (!counts) return { status: 'fail', summary: 'the restored database was not counted' };
    const { tables, tolerance, largeObjects } = counts;
    if (tables.length === 0 && !largeObjects?.expected) return { status: 'warn', summary: 'the backup lists no tables and no large objects: there was no record count to compare', evidence: { tables } };
    return { status: counts.status, summary: counts.summary, evidence: { tables, tolerance, ...(largeObjects ? { largeObjects } : {}) } };
  },
});
