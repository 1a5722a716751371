import type { TestProject } from 'vitest/node';
import { afterRestoreSlot } from './after-restore.ts';
import { prepareDrill, type DrillOptions } from './prepare.ts';

/**
 * Global setup of the `drill` vitest project: restores the backup once for all drill files and
 * provides the result to them (and to the reporter); teardown removes the sandboxes. Options are
 * provided by `runDrill`, or, for a bare `vitest --project drill`, come from PGDRILL_DRILL_OPTIONS (JSON).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const provided = project.getProvidedContext().pgdrillOptions;
  const options: DrillOptions = provided ?? (process.env.PGDRILL_DRILL_OPTIONS ? (JSON.parse(process.env.PGDRILL_DRILL_OPTIONS) as DrillOptions) : {});
  const prepared = await prepareDrill({ ...options, afterRestore: afterRestoreSlot.get() });
  project.provide('pgdrill', prepared.state);
  return prepared.teardown;
}
