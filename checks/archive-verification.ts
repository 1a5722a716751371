import { defineCheck } from '../src/check/index.ts';

const day = (iso: string) => iso.slice(0, 10);

export default defineCheck({
  id: 'archive-verification',
  title: 'Every retained archive verified within drill.reverifyMonths',
  description:
    "Retained archives never verified, and the least recently verified, are downloaded, hashed, decrypted to the end and read by pg_restore --list (the ledger in storage records each), so every archive is proven readable at least once per drill.reverifyMonths.",
  needsDatabase: false,
  pointInTime: "it verifies pgdrill's dump archives; the pgBackRest repository is checked by pgbackrest verify (pitr-repository)",
  async run({ state }) {
    const outcome = state.archiveVerification;
    if (!outcome) return { status: 'fail', summary: 'archive verification did not run' };
    const { archives, reverifyMonths, pass } = outcome;
    const evidence = {
      reverifyMonths,
      quota: outcome.quota,
      ledgerKey: outcome.ledgerKey,
      pass: { ...pass, throughputMBps: pass.durationMs > 0 ? Number((pass.bytes / 1e6 / (pass.durationMs / 1000)).toFixed(1)) : null },
      archives,
      ...(outcome.unreadableRecords.length ? { unreadableRecords: outcome.unreadableRecords } : {}),
    };
    if (outcome.error) return { status: 'fail', summary: `archive verification did not complete: ${outcome.error}`, evidence };
    const within = `${outcome.verifiedWithin} of ${archives.length} retained archives verified within ${reverifyMonths} months`;
    const oldest = outcome.oldestVerifiedAt ? `; oldest verification ${day(outcome.oldestVerifiedAt)}` : '';
    const failed = archives.filter((a) => a.ok === false);
    if (failed.length > 0) {
      const named = failed.map((a) => `${a.tier} ${a.id} (${a.errorKind ?? 'failed'}${a.verifiedAt ? ` ${day(a.verifiedAt)}` : ''})`).join(', ');
      return { status: 'fail', summary: `${failed.length} retained archive(s) FAILED verification: ${named}; ${within}${oldest}`, evidence };
    }
    if (outcome.verifiedWithin < archives.length) return { status: 'fail', summary: `${within}${oldest}`, evidence };
    return { status: 'pass', summary: `${within}${oldest}`, evidence };
  },
});
