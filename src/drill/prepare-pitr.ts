import { errorKind, IntegrityError, PgdrillError } from '../errors/index.ts';
import { restorePointInTime, type PitrPreparation } from '../pitr/index.ts';
import { drillIdFor, loadDrillConfig, newDrillState, type DrillOptions, type PreparedDrill } from './prepare.ts';

/**
 * The point-in-time drill before its checks (`drill --pitr`): the plan runDrill made (backup set,
 * target, expected markers) is restored by pgBackRest into the embedded sandbox and recovered; the
 * state names the set, the target and where recovery ended. A failed restore or recovery is
 * recorded in the state, so the report names it, as in a dump drill.
 */
export async function preparePitrDrill(options: DrillOptions & { pitr: { preparation: PitrPreparation } }): Promise<PreparedDrill> {
  const config = await loadDrillConfig(options);
  const prep = options.pitr.preparation;
  const startedAt = new Date();
  const now = options.now ? new Date(options.now) : startedAt;
  const cleanups: Array<() => Promise<unknown>> = [];
  const teardown = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  const state = newDrillState(config, drillIdFor(startedAt, `${prep.database}-pitr`), startedAt, now);

  const mark = (step: string, detail?: string) => state.timeline.push({ step, at: new Date().toISOString(), ...(detail ? { detail } : {}) });
  mark('located', `pgBackRest stanza ${prep.info.stanza}: set ${prep.plan.set.label} (${prep.plan.setReason})`);
  const restored = await restorePointInTime(prep, config, { mark });
  state.pitr = restored.outcome;
  state.timings.restoreMs = restored.outcome.timings.restoreMs;
  if (restored.sandbox) {
    const sandbox = restored.sandbox;
    cleanups.push(() => sandbox.stop());
    state.sandbox = { kind: 'embedded', description: sandbox.description, serverVersion: sandbox.serverVersion, uri: sandbox.connectionUri() };
    state.restore = { ok: true };
    if (options.afterRestore) await options.afterRestore(state.sandbox.uri);
  } else {
    const error = restored.error;
    const stage = restored.outcome.timings.restoreMs === null ? 'restore' : 'sandbox';
    state.restore = {
      ok: false,
      failedStage: error instanceof IntegrityError ? 'verify' : stage,
      error: error instanceof Error ? error.message : String(error),
      errorKind: errorKind(error ?? new PgdrillError('unknown')),
    };
  }
  return { state, teardown };
}
