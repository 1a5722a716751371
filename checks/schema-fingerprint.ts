import { schemaFingerprint } from '../src/dump/index.ts';
import { defineCheck } from '../src/drill/index.ts';

export default defineCheck({
  id: 'schema-fingerprint',
  title: 'Schema fingerprint matches the source',
  description:
    'SHA-256 over the structure of every dumped table — columns, types, defaults, generated and identity columns, constraints, indexes, partition bounds, row-level security and policies — computed on the source in the backup\'s snapshot and again on the restored database.',
  async run({ db, manifest }) {
    const restored = await schemaFingerprint(db, manifest.tables);
    const evidence = { expected: manifest.schemaFingerprint, actual: restored, tables: manifest.tables.length };
    return restored === manifest.schemaFingerprint
      ? { status: 'pass', summary: `${manifest.tables.length} tables, fingerprint ${restored.slice(0, 16)}… identical`, evidence }
      : { status: 'fail', summary: `restored schema differs from the source: fingerprint ${restored.slice(0, 16)}… ≠ ${manifest.schemaFingerprint.slice(0, 16)}…`, evidence };
  },
});
