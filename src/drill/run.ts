import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startVitest } from 'vitest/node';
import { SandboxError } from '../errors/index.ts';
import { exitOnSignal } from '../lifecycle/index.ts';
import type { Notifier } from '../notify/index.ts';
import { afterRestoreSlot } from './after-restore.ts';
import { drillFiles } from './files.ts';
import { loadDrillConfig, type DrillOptions } from './prepare.ts';
import { DrillReporter, type DrillResult } from './reporter.ts';

// Beside this module: global-setup.ts from source, global-setup.js in the built modules and in the
// bundled CLI (an entry of its own there, so it shares the CLI's chunks).
const GLOBAL_SETUP = fileURLToPath(new URL(`./global-setup${path.extname(import.meta.url)}`, import.meta.url));

/**
 * Runs the drill with vitest in the working directory (the user's project): the global setup
 * restores the backup; pgdrill's monthly drill registers the built-in checks and the project's
 * `checks/`; the project's own `drills/**\/*.drill.ts` run beside it; the reporter files the
 * evidence and report. Resolves with the verdict.
 */
export async function runDrill(options: DrillOptions & { notifier?: Notifier } = {}): Promise<DrillResult> {
  // Fail fast with the configuration error's own exit code, before vitest starts.
  const config = await loadDrillConfig(options);
  const { afterRestore, notifier, ...serializable } = options;
  // A point-in-time drill's plan is made here: a target the repository cannot serve is refused
  // (exit 3) before a sandbox or vitest starts.
  if (options.pitr && !options.pitr.preparation) {
    const { preparePointInTime } = await import('../pitr/index.ts');
    serializable.pitr = { ...options.pitr, preparation: await preparePointInTime(config, options.pitr.target, { now: options.now ? new Date(options.now) : undefined }) };
  }
  const cwd = options.cwd ?? process.cwd();
  const files = await drillFiles({ cwd, drills: config.drill.files, checks: config.drill.checks });
  // The one value that cannot travel through vitest's provide (a function) waits in a slot.
  afterRestoreSlot.set(afterRestore);
  const reporter = new DrillReporter(serializable, notifier);
  // A signal while vitest runs (it cannot watch an AbortSignal) stops the sandboxes and exits 130/143.
  const release = exitOnSignal();
  try {
    const vitest = await startVitest('test', [], {
      config: false,
      root: cwd,
      name: 'drill',
      include: files.drills,
      // pgdrill's own drill lives in node_modules when pgdrill is installed.
      exclude: [],
      globalSetup: [GLOBAL_SETUP],
      pool: 'forks',
      testTimeout: 600_000,
      hookTimeout: 600_000,
      run: true,
      watch: false,
      reporters: ['default', reporter],
      provide: { pgdrillOptions: serializable, pgdrillChecks: files.checks },
    });
    await vitest.close();
  } finally {
    release();
    afterRestoreSlot.set(undefined);
  }
  if (!reporter.result) {
    throw new SandboxError('The drill ended without a result', { hint: 'See the vitest output above for the error in the drill setup' });
  }
  return reporter.result;
}
