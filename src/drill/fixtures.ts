import pg from 'pg';
import { expect, inject, test as base } from 'vitest';
import type { BackupManifest } from '../catalog/index.ts';
import type { CheckContext, CheckOutcome, DrillCheck, DrillState, PointInTimeCheckContext } from '../check/index.ts';
import { checkMetaOf, slug, type CheckMeta } from './types.ts';

export interface DrillFixtures {
  /** What the drill's setup learned: backup, timings, sandbox, catalog, restore outcome. */
  drill: DrillState;
  /** The manifest of the backup under test (the test fails if none was found). */
  manifest: BackupManifest;
  /** A pg pool on the restored database; the test fails with the restore error when restore failed. */
  db: pg.Pool;
  /** Attach evidence (JSON, no personal data) to this check's entry in the report. */
  evidence: (data: Record<string, unknown>, summary?: string) => void;
}

export function restoreFailure(state: DrillState): Error {
  return new Error(`Restore did not complete (${state.restore.failedStage ?? 'unknown'} stage): ${state.restore.error ?? 'no detail'}`);
}

/**
 * `test` for drill files: `drillTest('name', async ({ db, manifest, evidence }) => { ... })`.
 * The pool is shared by the tests of one file and closed after it.
 */
export const drillTest = base.extend<DrillFixtures & { pool: pg.Pool | null; mustAssert: void }>({
  // A custom check that asserts nothing could never fail, so it may not pass either.
  mustAssert: [
    async ({ task }, use) => {
      await use(undefined);
      // A defineCheck check states its verdict; only a plain test must show it looked at something.
      if (checkMetaOf(task.meta).pgdrill?.defined) return;
      if (expect.getState().assertionCalls === 0) throw new Error('This drill test made no assertion (expect), so it could never fail: assert on what it looked at');
    },
    { auto: true },
  ],
  // eslint-disable-next-line no-empty-pattern -- vitest fixtures take their dependencies by destructuring
  drill: async ({}, use) => use(inject('pgdrill')),
  manifest: async ({ drill, skip }, use) => {
    // A point-in-time drill restored no dump: a test about the dump's manifest does not apply.
    if (!drill.manifest && drill.pitr) skip(POINT_IN_TIME_NO_MANIFEST);
    if (!drill.manifest) throw restoreFailure(drill);
    await use(drill.manifest);
  },
  pool: [
    // eslint-disable-next-line no-empty-pattern -- see above
    async ({}, use) => {
      const state = inject('pgdrill');
      // After a partial restore too: the checks then name what was lost.
      const pool = (state.restore.ok || state.restore.partial) && state.sandbox ? new pg.Pool({ connectionString: state.sandbox.uri, max: 4 }) : null;
      await use(pool);
      await pool?.end();
    },
    { scope: 'file' },
  ],
  db: async ({ pool, drill }, use) => {
    if (!pool) throw restoreFailure(drill);
    await use(pool);
  },
  evidence: async ({ task }, use) => {
    await use((data, summary) => {
      const meta: CheckMeta = checkMetaOf(task.meta).pgdrill ?? { id: slug(task.name) };
      meta.evidence = { ...meta.evidence, ...data };
      if (summary) meta.summary = summary;
      checkMetaOf(task.meta).pgdrill = meta;
    });
  },
});

const POINT_IN_TIME_NO_MANIFEST = 'not applicable to a point-in-time restore: there is no dump manifest (use the `db` and `drill.pitr` fixtures)';

/** What each defineCheck check of this drill file concluded, by id (the sensitivity check reads it after them). */
export const checkOutcomes = new Map<string, CheckOutcome['status']>();

/** Thrown by a failing check: its message is the check's one-line summary. */
export class CheckFailed extends Error {
  override name = 'CheckFailed';
}

/**
 * Registers every check from modules loaded with `import.meta.glob('../checks/*.ts', { eager: true })`
 * as a test, so a new file in `checks/` appears in the next drill without touching the harness.
 */
export function registerChecks(modules: Record<string, unknown>, options: { builtIn?: boolean } = {}): void {
  const checks = Object.values(modules)
    .map((mod) => (mod as { default?: DrillCheck }).default)
    .filter((c): c is DrillCheck => Boolean(c && typeof c.run === 'function' && c.id));
  for (const check of checks) {
    drillTest(check.title, async ({ drill, task, skip, pool }) => {
      const meta: CheckMeta = { id: check.id, title: check.title, description: check.description, builtIn: options.builtIn ?? true, defined: true };
      checkMetaOf(task.meta).pgdrill = meta;
      if (!drill.manifest && !drill.pitr) throw restoreFailure(drill);
      if (drill.pitr && typeof check.pointInTime !== 'function') {
        meta.summary = `not applicable to a point-in-time restore: ${check.pointInTime ?? 'written for dump drills (it reads the backup manifest)'}`;
        skip(meta.summary);
      }
      if (check.needsDatabase !== false && !pool) {
        // Not a pass and not hidden: the restore check (or backup integrity) fails and names why.
        meta.summary = `not run: restore failed at the ${drill.restore.failedStage} stage`;
        skip(meta.summary);
      }
      const outcome =
        drill.pitr && typeof check.pointInTime === 'function'
          ? await check.pointInTime({ db: pool, pitr: drill.pitr, state: drill } as PointInTimeCheckContext)
          : await check.run({ db: pool, manifest: drill.manifest, state: drill } as CheckContext);
      checkOutcomes.set(check.id, outcome.status);
      Object.assign(meta, { status: outcome.status, summary: outcome.summary, evidence: outcome.evidence });
      if (outcome.status === 'skip') skip(outcome.summary);
      if (outcome.status === 'fail') throw new CheckFailed(outcome.summary);
    });
  }
}
