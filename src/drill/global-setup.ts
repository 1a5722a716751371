import type { TestProject } from 'vitest/node';
import { prepareDrill, type DrillOptions } from './prepare.ts';
import { drillSession } from './session.ts';

/**
 * Global setup of the `drill` vitest project: restores the backup once for all drill files and
 * provides the result to them; teardown removes the sandboxes. Options come from `runDrill`
 * (same process) or, for a bare `vitest --project drill`, from PGDRILL_DRILL_OPTIONS (JSON).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const session = drillSession();
  const options: DrillOptions = session.options ?? (process.env.PGDRILL_DRILL_OPTIONS ? (JSON.parse(process.env.PGDRILL_DRILL_OPTIONS) as DrillOptions) : {});
  const prepared = await prepareDrill(options);
  session.state = prepared.state;
  project.provide('pgdrill', prepared.state);
  return prepared.teardown;
}
