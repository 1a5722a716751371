import { fileURLToPath } from 'node:url';
import { startVitest } from 'vitest/node';
import { ExitCode, SandboxError } from '../errors/index.ts';
import { liveSandboxCount } from '../sandbox/index.ts';
import type { Notifier } from '../notify/index.ts';
import { loadDrillConfig, type DrillOptions } from './prepare.ts';
import { DrillReporter, type DrillResult } from './reporter.ts';
import { drillSession } from './session.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Runs the drill project (drills/*.drill.ts) with vitest: global setup restores the backup, the
 * checks run as tests, the reporter files the evidence and report. Resolves with the verdict.
 */
export async function runDrill(options: DrillOptions & { notifier?: Notifier; files?: string[] } = {}): Promise<DrillResult> {
  // Fail fast with the configuration error's own exit code, before vitest starts.
  await loadDrillConfig(options);
  const session = drillSession();
  session.options = options;
  session.state = undefined;
  session.result = undefined;
  // Ctrl-C / SIGTERM before any sandbox runs: exit so 'exit' hooks remove downloaded plaintext.
  // While sandboxes run, their own handler stops them first, then exits.
  const onSignal = (signal: NodeJS.Signals) => {
    if (liveSandboxCount() === 0) process.exit(signal === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const vitest = await startVitest('test', options.files ?? [], {
      root: ROOT,
      project: ['drill'],
      run: true,
      watch: false,
      reporters: ['default', new DrillReporter(options.notifier)],
    });
    await vitest.close();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const result = session.result;
  if (!result) {
    throw new SandboxError('The drill ended without a result', { hint: 'See the vitest output above for the error in the drill setup' });
  }
  return result;
}
