import { defineCheck } from '../src/check/index.ts';

export default defineCheck({
  id: 'freshness',
  title: 'Newest backup is fresh enough (RPO)',
  description: "The newest full backup finished within the freshness window (default 26 hours); partial backups (schema-only, some tables) do not count.",
  needsDatabase: false,
  pointInTime: "it judges pgdrill's dump catalog; the RPO of a point-in-time drill is the age of the newest archived WAL (see pitr-repository)",
  async run({ manifest, state }) {
    const limitHours = state.config.drill.freshnessHours;
    const newest = state.catalog.filter((b) => b.database === manifest.database && b.full).at(-1);
    if (!newest) return { status: 'fail', summary: 'no valid full backup in storage', evidence: { limitHours } };
    const ageHours = (Date.parse(state.now) - Date.parse(newest.finishedAt)) / 3_600_000;
    const evidence = { newest: newest.id, finishedAt: newest.finishedAt, ageHours: Number(ageHours.toFixed(2)), limitHours };
    if (ageHours <= limitHours) return { status: 'pass', summary: `newest full backup ${newest.id} is ${ageHours.toFixed(1)} h old (limit ${limitHours} h)`, evidence };
    return {
      status: state.config.drill.freshnessSeverity,
      summary: `newest full backup ${newest.id} is ${ageHours.toFixed(1)} h old, older than the ${limitHours} h limit: backups have stopped or are failing`,
      evidence,
    };
  },
});
