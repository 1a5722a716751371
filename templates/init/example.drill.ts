// A check of your own: an ordinary vitest test that gets the restored database (`db`), the backup's
// manifest and `evidence` for the report. `pnpm exec pgdrill drill` runs it with pgdrill's checks.
import { drillTest as test, expect } from 'pgdrill/drill';

test('no audit entry is dated after the backup was taken', async ({ db, manifest, evidence, skip }) => {
  if (!manifest.tables.some((t) => t.schema === 'public' && t.name === 'audit_logs')) skip('no public.audit_logs in this backup');
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM public.audit_logs WHERE created_at > $1', [manifest.startedAt]);
  evidence({ futureEntries: rows[0]!.n }, `${rows[0]!.n} audit entries dated after ${manifest.startedAt}`);
  expect(rows[0]!.n).toBe(0);
});
