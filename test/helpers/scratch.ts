// Throwaway folders for unit tests, removed when the test file that made them ends (the top-level
// afterAll registers in each importing file, which gets its own copy of this module).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `pgdrill-${prefix}-`));
  made.push(dir);
  return dir;
}
