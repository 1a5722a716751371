import { fileURLToPath } from 'node:url';
import { startVitest } from 'vitest/node';
import { SandboxError } from '../errors/index.ts';
import { exitOnSignal } from '../lifecycle/index.ts';
import type { Notifier } from '../notify/index.ts';
import { afterRestoreSlot } from './after-restore.ts';
import { loadDrillConfig, type DrillOptions } from './prepare.ts';
import { DrillReporter, type DrillResult } from './reporter.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Runs the drill project (drills/*.drill.ts) with vitest: global setup restores the backup, the
 * checks run as tests, the reporter files the evidence and report. Resolves with the verdict.
 */
export async function runDrill(options: DrillOptions & { notifier?: Notifier; files?: string[] } = {}): Promise<DrillResult> {
  // Fail fast with the configuration error's own exit code, before vitest starts.
  await loadDrillConfig(options);
  const { afterRestore, notifier, files, ...serializable } = options;
  // The one value that cannot travel through vitest's provide (a function) waits in a slot.
  afterRestoreSlot.set(afterRestore);
  const reporter = new DrillReporter(serializable, notifier);
  // A signal while vitest runs (it cannot watch an AbortSignal) stops the sandboxes and exits 130/143.
  const release = exitOnSignal();
  try {
    const vitest = await startVitest('test', files ?? [], {
      root: ROOT,
      project: ['drill'],
      run: true,
      watch: false,
      reporters: ['default', reporter],
      provide: { pgdrillOptions: serializable },
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
