import { displayName, existingTables, schemaFingerprint, tableKey } from '../src/inspect/index.ts';
import { defineCheck } from '../src/check/index.ts';
import { describeRestoreFailure } from '../src/restore/index.ts';

/** Archive entries whose failure leaves no schema difference (rows, grants, comments are checked elsewhere). */
const NOT_SCHEMA = new Set(['TABLE DATA', 'ACL', 'COMMENT', 'SEQUENCE SET', 'BLOB', 'BLOB DATA', 'BLOBS', 'LARGE OBJECT', 'MATERIALIZED VIEW DATA']);

export default defineCheck({
  id: 'schema-fingerprint',
  title: 'Schema fingerprint matches the source',
  description: "SHA-256 of every dumped table's structure (columns, constraints, indexes, partitions, RLS) equals the source's.",
  pointInTime: "there is no fingerprint taken at the target time to compare with (the source's schema may have changed since)",
  async run({ db, manifest, state }) {
    if (manifest.tables.length === 0) return { status: 'skip', summary: 'not applicable: the backup holds no tables, so there is no structure to compare' };
    // What a partial restore failed to create, named instead of a bare hash difference.
    const notCreated = (state.restore.partial?.failures ?? []).filter((f) => f.kind && !NOT_SCHEMA.has(f.kind)).map(describeRestoreFailure);
    const present = await existingTables(db, manifest.tables);
    const missing = manifest.tables.filter((t) => !present.has(tableKey(t))).map((t) => `table ${displayName(t)} missing`);
    if (missing.length > 0) {
      const named = [...missing, ...notCreated.filter((d) => !missing.includes(d))];
      return {
        status: 'fail',
        summary: `restored schema differs from the source: ${named.slice(0, 5).join('; ')}${named.length > 5 ? `; and ${named.length - 5} more` : ''}`,
        evidence: { expected: manifest.schemaFingerprint, tables: manifest.tables.length, missing, notCreated },
      };
    }
    const restored = await schemaFingerprint(db, manifest.tables);
    const evidence = { expected: manifest.schemaFingerprint, actual: restored, tables: manifest.tables.length, ...(notCreated.length ? { notCreated } : {}) };
    if (restored === manifest.schemaFingerprint) {
      return { status: 'pass', summary: `${manifest.tables.length} tables, fingerprint ${restored.slice(0, 16)}… identical`, evidence };
    }
    const named = notCreated.length ? `: ${notCreated.slice(0, 5).join('; ')}${notCreated.length > 5 ? `; and ${notCreated.length - 5} more` : ''}` : '';
    return { status: 'fail', summary: `restored schema differs from the source${named} (fingerprint ${restored.slice(0, 16)}… ≠ ${manifest.schemaFingerprint.slice(0, 16)}…)`, evidence };
  },
});
