// The monthly restore drill: registers pgdrill's built-in checks and the project's own checks/ as
// tests against the restored backup (runDrill finds the files). Add a check by adding a file to
// checks/ or a test to any drills/*.drill.ts file.
import { pathToFileURL } from 'node:url';
import { inject } from 'vitest';
import { registerChecks } from '../src/drill/test.ts';

const load = async (files: readonly string[]): Promise<Record<string, unknown>> =>
  Object.fromEntries(await Promise.all(files.map(async (file) => [file, await import(pathToFileURL(file).href)] as const)));

const { builtIn, project } = inject('pgdrillChecks');
registerChecks(await load(builtIn), { builtIn: true });
registerChecks(await load(project), { builtIn: false });
