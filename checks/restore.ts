import { defineCheck } from '../src/check/index.ts';
import { restoreCauseHints } from '../src/pgtools/index.ts';
import { describeRestoreFailure, failedObjectName, failureReason } from '../src/restore/index.ts';

export default defineCheck({
  id: 'restore',
  title: 'Backup restores into a fresh isolated PostgreSQL',
  description: "pg_restore of the verified, decrypted backup into a new sandbox finished without an error.",
  needsDatabase: false,
  async pointInTime({ state, pitr }) {
    if (!state.restore.ok) return { status: 'fail', summary: `${state.restore.failedStage} failed: ${state.restore.error}`, evidence: { stage: state.restore.failedStage, kind: state.restore.errorKind } };
    const seconds = (ms: number | null) => `${((ms ?? 0) / 1000).toFixed(1)} s`;
    return {
      status: 'pass',
      summary: `pgBackRest set ${pitr.set.label} restored in ${seconds(pitr.timings.restoreMs)} and recovered in ${seconds(pitr.timings.recoveryMs)} into an embedded sandbox (PostgreSQL ${state.sandbox?.serverVersion})`,
      evidence: { set: pitr.set.label, restoreMs: pitr.timings.restoreMs, recoveryMs: pitr.timings.recoveryMs, sandbox: state.sandbox?.description },
    };
  },
  async run({ state, manifest }) {
    if (state.restore.ok) {
      return {
        status: 'pass',
        summary: `restored in ${((state.timings.restoreMs ?? 0) / 1000).toFixed(1)} s into a ${state.sandbox?.kind} sandbox (PostgreSQL ${state.sandbox?.serverVersion})`,
        evidence: { sandbox: state.sandbox?.description, restoreMs: state.timings.restoreMs },
      };
    }
    const partial = state.restore.partial;
    if (partial) {
      // What was lost, object by object: lost rows from the record counts taken after the restore.
      const counts = state.recordCounts?.tables ?? [];
      const damage = partial.failures.map((f) => {
        if (f.kind !== 'TABLE DATA') return `${describeRestoreFailure(f)} (${failureReason(f)})`;
        const table = counts.find((t) => t.name === f.name && (f.schema === null || t.schema === f.schema));
        const name = table ? `${table.schema}.${table.name}` : failedObjectName(f);
        const expected = table?.expected ?? manifest.tables.find((t) => t.name === f.name && (f.schema === null || t.schema === f.schema))?.rows;
        const rows = expected === undefined ? 'rows not restored' : `${(table?.actual ?? 0).toLocaleString('en')} of ${expected.toLocaleString('en')} rows`;
        return `${name}: ${rows} (${failureReason(f)})`;
      });
      const hints = restoreCauseHints(partial.failures);
      const listed = damage.slice(0, 5).join('; ') + (damage.length > 5 ? `; and ${damage.length - 5} more` : '');
      return {
        status: 'fail',
        summary: `pg_restore finished with ${partial.failures.length} error(s), so the restored database is incomplete: ${listed}${hints.length ? `. ${hints.join('. ')}` : ''}`,
        evidence: {
          stage: 'restore',
          kind: state.restore.errorKind,
          errorsReported: partial.errorsReported,
          failures: partial.failures.map((f) => ({ tocId: f.tocId, kind: f.kind, schema: f.schema, name: f.name, cause: f.cause, causeObject: f.causeObject ?? null, reason: failureReason(f) })),
        },
      };
    }
    const stage = state.restore.failedStage === 'verify' ? 'not attempted: the backup failed verification' : `${state.restore.failedStage} failed`;
    return { status: 'fail', summary: `${stage}: ${state.restore.error}`, evidence: { stage: state.restore.failedStage, kind: state.restore.errorKind } };
  },
});
