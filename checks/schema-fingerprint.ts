import { schemaFingerprint } from '../src/inspect/index.ts';
import { defineCheck } from '../src/check/index.ts';

export default defineCheck({
  id: 'schema-fingerprint',
  title: 'Schema fingerprint matches the source',
  description: "SHA-256 of every dumped table's structure (columns, constraints, indexes, partitions, RLS) equals the source's.",
  pointInTime: "there is no fingerprint taken at the target time to compare with (the source's schema may have changed since)",
  async run({ db, manifest }) {
    const restored = await schemaFingerprint(db, manifest.tables);
    const evidence = { expected: manifest.schemaFingerprint, actual: restored, tables: manifest.tables.length };
    return restored === manifest.schemaFingerprint
      ? { status: 'pass', summary: `${manifest.tables.length} tables, fingerprint ${restored.slice(0, 16)}… identical`, evidence }
      : { status: 'fail', summary: `restored schema differs from the source: fingerprint ${restored.slice(0, 16)}… ≠ ${manifest.schemaFingerprint.slice(0, 16)}…`, evidence };
  },
});
