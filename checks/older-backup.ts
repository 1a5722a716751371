import { defineCheck } from '../src/check/index.ts';

export default defineCheck({
  id: 'older-backup',
  title: 'An older backup still restores with today\'s keys and tools',
  description: "The oldest retained monthly backup is verified, decrypted with today's keys and restored into a second sandbox.",
  needsDatabase: false,
  pointInTime: "it restores pgdrill's oldest monthly dump; a point-in-time drill restores one pgBackRest set",
  async run({ state }) {
    const older = state.olderBackup;
    if (state.config.drill.olderBackup === 'none') return { status: 'skip', summary: 'disabled by configuration (drill.olderBackup: none)' };
    if (!older) return { status: 'warn', summary: 'no older monthly backup is retained yet, so none could be proven', evidence: {} };
    return { status: older.status === 'pass' ? 'pass' : 'fail', summary: `${older.id}: ${older.detail}`, evidence: { ...older } };
  },
});
