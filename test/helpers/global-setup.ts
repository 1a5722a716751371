import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Whether a Docker engine answers; docker-only tests skip without one, except under CI. */
    dockerAvailable: boolean;
  }
}

// Docker tests may skip locally (with a printed reason) but never under CI=true: CI must
// exercise the real Testcontainers path, so a missing engine there fails the whole run.
export default async function setup(project: TestProject): Promise<() => void> {
  // One temp root per run for test folders (throwaway backups, reports); workers inherit it.
  const tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'pgdrill-tests-'));
  process.env.PGDRILL_TEST_TMP = tmpRoot;
  const docker = await execa('docker', ['info', '--format', '{{.ServerVersion}}'], { reject: false, timeout: 15_000 });
  const available = docker.exitCode === 0;
  if (!available) {
    const reason = 'no Docker engine answers (`docker info` failed)';
    if (process.env.CI === 'true') {
      throw new Error(`${reason}: under CI=true the Testcontainers tests must run. Start dockerd (scripts/docker-up.sh).`);
    }
    console.warn(`[pgdrill tests] skipping Docker tests: ${reason}. Run scripts/docker-up.sh to include them.`);
  }
  project.provide('dockerAvailable', available);
  return () => rmSync(tmpRoot, { recursive: true, force: true });
}
