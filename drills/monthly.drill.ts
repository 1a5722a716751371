// The monthly restore drill: registers pgdrill's built-in checks and the project's own checks/ as
// tests against the restored backup (runDrill finds the files), then, last, the sensitivity check:
// it makes small defects in rolled-back transactions and requires the checks above to fail on
// them. Tests of one file run in order, so it runs after every check registered here. Add a check
// by adding a file to checks/ or a test to any drills/*.drill.ts file.
import { pathToFileURL } from 'node:url';
import { inject } from 'vitest';
import { registerChecks, registerSensitivity } from '../src/drill/test.ts';

const load = async (files: readonly string[]): Promise<Record<string, unknown>> =>
  Object.fromEntries(await Promise.all(files.map(async (file) => [file, await import(pathToFileURL(file).href)] as const)));

const { builtIn, project } = inject('pgdrillChecks');
const builtInChecks = await load(builtIn);
registerChecks(builtInChecks, { builtIn: true });
registerChecks(await load(project), { builtIn: false });
registerSensitivity(builtInChecks);
