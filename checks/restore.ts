import { defineCheck } from '../src/check/index.ts';

export default defineCheck({
  id: 'restore',
  title: 'Backup restores into a fresh isolated PostgreSQL',
  description: "pg_restore of the verified, decrypted backup into a new sandbox finished without an error.",
  needsDatabase: false,
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
