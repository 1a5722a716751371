// A source database for integration tests: an embedded sandbox with the OSLRS fixture loaded.
import { randomBytes } from 'node:crypto';
import { loadFixture } from '../../fixtures/index.ts';
import type { FixtureSummary } from '../../fixtures/index.ts';
import { startEmbeddedSandbox } from '../../src/sandbox/index.ts';
import type { Sandbox } from '../../src/sandbox/index.ts';

export interface SourceDatabase {
  /** postgres://pgdrill:<password>@127.0.0.1:<port>/<database> — contains the sandbox password (tests only). */
  url: string;
  sandbox: Sandbox;
  summary: FixtureSummary;
  /** Password of the canary accounts (canary+{role}@pgdrill.invalid). */
  canaryPassword: string;
  /** Password of the oslrs_app LOGIN role. */
  appPassword: string;
  stop(): Promise<void>;
}

export interface SourceDatabaseOptions {
  /** Respondents (default 2000: loads in about a second). */
  rows?: number;
  /** Database name (default `oslrs`). */
  database?: string;
  seed?: number;
  /** PostgreSQL major wanted (default 15). */
  major?: number;
}

/** Starts an embedded PostgreSQL holding the fixture; stop() removes it all. */
export async function startSourceDatabase(options: SourceDatabaseOptions = {}): Promise<SourceDatabase> {
  const database = options.database ?? 'oslrs';
  const sandbox = await startEmbeddedSandbox({ major: options.major ?? 15, database });
  try {
    const canaryPassword = `canary-${randomBytes(12).toString('base64url')}`;
    const appPassword = `app-${randomBytes(12).toString('base64url')}`;
    const url = sandbox.connectionUri(database);
    const summary = await loadFixture(url, { rows: options.rows ?? 2000, seed: options.seed, canaryPassword, appPassword });
    return { url, sandbox, summary, canaryPassword, appPassword, stop: () => sandbox.stop() };
  } catch (error) {
    await sandbox.stop().catch(() => undefined);
    throw error;
  }
}
