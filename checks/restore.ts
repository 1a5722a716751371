import { defineCheck } from '../src/check/index.ts';

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
  async run({ state }) {
    if (state.restore.ok) {
      return {
        status: 'pass',
        summary: `restored in ${((state.timings.restoreMs ?? 0) / 1000).toFixed(1)} s into a ${state.sandbox?.kind} sandbox (PostgreSQL ${state.sandbox?.serverVersion})`,
        evidence: { sandbox: state.sandbox?.description, restoreMs: state.timings.restoreMs },
      };
    }
    const stage = state.restore.failedStage === 'verify' ? 'not attempted: the backup failed verification' : `${state.restore.failedStage} failed`;
    return { status: 'fail', summary: `${stage}: ${state.restore.error}`, evidence: { stage: state.restore.failedStage, kind: state.restore.errorKind } };
  },
});
