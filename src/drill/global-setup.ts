import type { TestProject } from 'vitest/node';
import { afterRestoreSlot } from './after-restore.ts';
import { prepareDrill } from './prepare.ts';
import { preparePitrDrill } from './prepare-pitr.ts';

/**
 * Global setup of the drill run (runDrill): restores the backup once for all drill files and
 * provides the result to them and to the reporter; teardown removes the sandboxes.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const options = project.getProvidedContext().pgdrillOptions ?? {};
  const afterRestore = afterRestoreSlot.get();
  const preparation = options.pitr?.preparation;
  const prepared = preparation ? await preparePitrDrill({ ...options, afterRestore, pitr: { ...options.pitr!, preparation } }) : await prepareDrill({ ...options, afterRestore });
  project.provide('pgdrill', prepared.state);
  return prepared.teardown;
}
