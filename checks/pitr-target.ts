import { defineCheck } from '../src/check/index.ts';
import { judgeTarget } from '../src/pitr/index.ts';

export default defineCheck({
  id: 'pitr-target',
  title: 'Point-in-time recovery reached its target, and no further',
  description:
    "The recovered cluster is out of recovery, restored from the chosen pgBackRest set (backup_label), its pgdrill.pitr_markers end at the marker written last before the target and the next one is absent, and no transaction was replayed past the target (pg_last_xact_replay_timestamp); to `latest`, every archived segment was replayed.",
  needsDatabase: false,
  async run() {
    return { status: 'skip', summary: 'not a point-in-time drill (pgdrill drill --pitr)' };
  },
  async pointInTime({ pitr }) {
    const judged = judgeTarget(pitr);
    const evidence = { target: pitr.target, set: pitr.set.label, restoredStartLsn: pitr.set.restoredStartLsn, markers: pitr.markers, reached: pitr.reached, problems: judged.problems };
    return { status: judged.ok ? 'pass' : 'fail', summary: judged.summary, evidence };
  },
});
