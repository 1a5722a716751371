import { defineCheck } from '../src/check/index.ts';
import { describeGap } from '../src/pitr/index.ts';

export default defineCheck({
  id: 'pitr-repository',
  title: 'pgBackRest repository verified; WAL archive continuous',
  description:
    "`pgbackrest verify` finds every backup file and WAL segment valid, and no WAL segment is missing from the restored set's first segment on (pgBackRest 2.45's verify does not report such gaps; pgdrill lists the archive). The record keeps verify's report and `pgbackrest info`.",
  needsDatabase: false,
  async run() {
    return { status: 'skip', summary: 'not a point-in-time drill (pgdrill drill --pitr)' };
  },
  async pointInTime({ pitr, state }) {
    const gaps = pitr.archive.gaps.map(describeGap);
    const rpoHours = pitr.archive.newestArchivedAt ? (Date.parse(state.now) - Date.parse(pitr.archive.newestArchivedAt)) / 3_600_000 : null;
    const evidence = {
      stanza: pitr.stanza,
      cipher: pitr.cipher,
      archive: { id: pitr.archive.id, min: pitr.archive.min, max: pitr.archive.max, segments: pitr.archive.segments, newestArchivedAt: pitr.archive.newestArchivedAt },
      rpoHours: rpoHours === null ? null : Number(rpoHours.toFixed(2)),
      gaps,
      verify: pitr.verify,
      info: pitr.info as Record<string, unknown>,
    };
    const problems = [
      ...gaps,
      ...(pitr.verify === null ? ['pgbackrest verify did not run'] : pitr.verify.ok ? [] : [`pgbackrest verify failed: ${pitr.verify.error ?? pitr.verify.output.split('\n').slice(0, 3).join(' ')}`]),
    ];
    const range = `${pitr.archive.segments} WAL segments ${pitr.archive.min ?? '?'} – ${pitr.archive.max ?? '?'}`;
    if (problems.length) return { status: 'fail', summary: `${problems.join('; ')} (${range})`, evidence };
    const age = rpoHours === null ? '' : `; newest archived ${rpoHours.toFixed(1)} h before the drill`;
    return { status: 'pass', summary: `pgbackrest verify: ok; ${range}, none missing after set ${pitr.set.label}${age}`, evidence };
  },
});
