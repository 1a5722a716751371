import type { Pool, PoolClient } from 'pg';
import type { RunnerTask as Task } from 'vitest';
import type { CheckContext, CheckOutcome, DrillCheck, DrillState, PointInTimeCheckContext } from '../check/index.ts';
import { compareRecordCounts, displayName, expectedHashSql, AUDIT_ROW, ownedSequences, parseTableName, qualifiedName, quoteIdent, sequenceAhead } from '../inspect/index.ts';
import { CheckFailed, checkOutcomes, drillTest, restoreFailure } from './fixtures.ts';
import { checkMetaOf, type CheckMeta } from './types.ts';

// Proof that the checks can fail, in the drill that passed them: small defects are made in the
// restored sandbox — one table loses rows, one audit row's payload changes, one sequence falls
// behind its column — and the check that guards each must fail on it. Each mutation runs in its
// own transaction that is rolled back: other drill files reading the sandbox at the same time
// never see it (MVCC; ALTER SEQUENCE … RESTART is transactional), and no second restore is needed.
// It runs as the last test of pgdrill's monthly drill file, after every check registered there.

const ID = 'sensitivity';
const TITLE = 'Checks shown able to fail (sensitivity)';
const DESCRIPTION =
  'After the checks pass, small defects are made in the restored database inside transactions that are rolled back (rows deleted from the largest table, one audit row changed, one sequence set behind its column); each affected check is run again and must fail.';

export interface MutationResult {
  /** The check that must catch it. */
  check: string;
  /** What was changed, e.g. "1 row deleted from public.respondents". */
  mutation: string;
  /** Whether the check failed on it; null when the mutation does not apply (and why). */
  caught: boolean | null;
  /** What the check said on the mutated database, or why the mutation does not apply. */
  detail: string;
  durationMs: number;
}

type Mutation = (client: PoolClient, context: MutationContext) => Promise<Omit<MutationResult, 'check' | 'durationMs'>>;

interface MutationContext {
  state: DrillState;
  /** Null in a point-in-time drill: the checks are rerun through their pointInTime. */
  manifest: DrillState['manifest'];
  checks: Map<string, DrillCheck>;
}

/**
 * The client of an open transaction as the Pool a check's run() takes: every query of the check
 * then sees the mutation. (A check that connect()s gets the same client; release() is a no-op.)
 */
function transactionAsPool(client: PoolClient): Pool {
  const shared = new Proxy(client, {
    get: (target, property) => {
      if (property === 'release') return () => undefined;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { query: client.query.bind(client), connect: async () => shared } as unknown as Pool;
}

async function rerun(check: DrillCheck | undefined, client: PoolClient, context: MutationContext): Promise<CheckOutcome> {
  if (!check) throw new Error('check not registered');
  const { state } = context;
  if (state.pitr && typeof check.pointInTime === 'function') return check.pointInTime({ db: transactionAsPool(client), pitr: state.pitr, state } as PointInTimeCheckContext);
  return check.run({ db: transactionAsPool(client), manifest: context.manifest, state: context.state } as CheckContext);
}

const said = (outcome: CheckOutcome): string => `${outcome.status}: ${outcome.summary}`;

/** Rows deleted from the largest table (enough to exceed drill.recordCountTolerance); counts recomputed live. */
const deleteRows: Mutation = async (client, { state, manifest }) => {
  if (!manifest) return { mutation: 'delete rows', caught: null, detail: 'not applicable: no dump manifest records the row counts' };
  const largest = [...manifest.tables].sort((a, b) => b.rows - a.rows)[0];
  if (!largest || largest.rows === 0) return { mutation: 'delete rows', caught: null, detail: 'not applicable: every table of the backup is empty' };
  const tolerance = state.config.drill.recordCountTolerance;
  const n = Math.min(largest.rows, Math.floor(tolerance * largest.rows) + 1);
  const table = qualifiedName(largest);
  // Replica mode: no foreign-key or user trigger stops the delete (superuser, this transaction only).
  await client.query('SET LOCAL session_replication_role = replica');
  await client.query(`DELETE FROM ONLY ${table} WHERE ctid = ANY (ARRAY(SELECT ctid FROM ONLY ${table} LIMIT ${n}))`);
  const counts = await compareRecordCounts(client, { tables: [largest], largeObjects: undefined }, tolerance);
  return { mutation: `${n.toLocaleString('en')} row(s) deleted from ${displayName(largest)}`, caught: counts.status === 'fail', detail: `${counts.status}: ${counts.summary}` };
};

/** One column of the chain's first row changed to another row's value; the hash must cover it and the check must fail. */
const changeAuditPayload: Mutation = async (client, context) => {
  const chain = context.state.config.auditChain!;
  const table = qualifiedName(parseTableName(chain.table));
  const order = quoteIdent(chain.orderColumn);
  await client.query('SET LOCAL session_replication_role = replica');
  const first = (await client.query<{ id: string }>(`SELECT ${order}::text AS id FROM ${table} ORDER BY ${order} LIMIT 1`)).rows[0]!.id;
  const skip = new Set([chain.orderColumn, chain.hashColumn, chain.prevHashColumn]);
  const { rows: columns } = await client.query<{ name: string }>(
    `SELECT attname AS name FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum`,
    [table],
  );
  // The first row's expected hash: filtered to that row, its previous hash is NULL either way.
  const covered = `SELECT ${AUDIT_ROW}.${quoteIdent(chain.hashColumn)} IS DISTINCT FROM (${expectedHashSql(chain)}) AS changed FROM ${table} AS ${AUDIT_ROW} WHERE ${AUDIT_ROW}.${order}::text = $1`;
  const tried: string[] = [];
  for (const { name } of columns.filter((c) => !skip.has(c.name))) {
    const col = quoteIdent(name);
    await client.query('SAVEPOINT pgdrill_mutation');
    try {
      // Another row's value (same type, different), else NULL.
      const updated = await client.query(
        `UPDATE ${table} AS t SET ${col} = (SELECT o.${col} FROM ${table} AS o WHERE o.${col} IS DISTINCT FROM t.${col} LIMIT 1) WHERE t.${order}::text = $1`,
        [first],
      );
      const changed = updated.rowCount === 1 && (await client.query<{ changed: boolean }>(covered, [first])).rows[0]?.changed === true;
      if (changed) {
        const outcome = await rerun(context.checks.get('audit-chain'), client, context);
        return { mutation: `${chain.table} ${chain.orderColumn}=${first}: ${name} changed without fixing the chain`, caught: outcome.status === 'fail', detail: said(outcome) };
      }
    } catch {
      // Not changeable this way (a constraint, a type): try the next column.
    }
    tried.push(name);
    await client.query('ROLLBACK TO SAVEPOINT pgdrill_mutation');
  }
  return {
    mutation: `${chain.table} ${chain.orderColumn}=${first}: change one column`,
    caught: false,
    detail: `changing ${tried.join(', ') || 'no column'} leaves the row's expected hash (backup.auditChain.hashSql) unchanged: the configured chain covers none of the row's values, so tampering would go unseen`,
  };
};

/** One sequence set back to its column's largest value: the next insert would collide. */
const setSequenceBehind: Mutation = async (client, context) => {
  const target = (await ownedSequences(client)).find((s) => {
    const edge = s.increment > 0n ? s.columnMax : s.columnMin;
    return s.comparable && edge !== null && edge >= s.minValue && edge <= s.maxValue && sequenceAhead(s);
  });
  if (!target) return { mutation: 'set a sequence behind its column', caught: null, detail: 'not applicable: no sequence feeds an integer column holding rows' };
  const edge = (target.increment > 0n ? target.columnMax : target.columnMin)!;
  await client.query(`ALTER SEQUENCE ${target.sequenceSql} RESTART WITH ${edge}`);
  const outcome = await rerun(context.checks.get('sequences'), client, context);
  return { mutation: `${target.sequence} set back to ${edge} (${target.schema}.${target.table}.${target.column} holds it)`, caught: outcome.status === 'fail', detail: said(outcome) };
};

/** Why a mutation does not apply when the check guarding it did not pass (null: it passed). */
function notPassed(check: string): string | null {
  const status = checkOutcomes.get(check);
  if (status === 'pass') return null;
  return status === 'skip' ? `the ${check} check does not apply to this backup` : `the ${check} check ${status ? `ended ${status}` : 'did not run'}`;
}

/** Which check guards each mutation, and when it applies (the check ran and passed). */
const MUTATIONS: Array<{ check: string; applies: (state: DrillState) => string | null; run: Mutation }> = [
  { check: 'record-counts', applies: () => notPassed('record-counts'), run: deleteRows },
  {
    check: 'audit-chain',
    applies: (s) => (!s.config.auditChain ? 'no audit chain configured' : (notPassed('audit-chain') ?? ((s.pitr ? s.pitr.auditChain?.restoredHead : s.manifest?.auditChain) ? null : 'the audit table was empty at backup time'))),
    run: changeAuditPayload,
  },
  { check: 'sequences', applies: () => notPassed('sequences'), run: setSequenceBehind },
];

function testsOf(task: Task): Task[] {
  return 'tasks' in task ? task.tasks.flatMap(testsOf) : [task];
}

/**
 * Registers the sensitivity check as the next test of the calling drill file: call it after
 * registerChecks, with the built-in check modules (their run functions are run again).
 */
export function registerSensitivity(modules: Record<string, unknown>): void {
  const checks = new Map(
    Object.values(modules)
      .map((mod) => (mod as { default?: DrillCheck }).default)
      .filter((c): c is DrillCheck => Boolean(c && typeof c.run === 'function' && c.id))
      .map((c) => [c.id, c]),
  );
  drillTest(TITLE, async ({ drill, task, skip, pool }) => {
    const meta: CheckMeta = { id: ID, title: TITLE, description: DESCRIPTION, builtIn: true, defined: true };
    checkMetaOf(task.meta).pgdrill = meta;
    if (!drill.manifest && !drill.pitr) throw restoreFailure(drill);
    if (!drill.restore.ok || !pool) {
      meta.summary = `not run: restore failed at the ${drill.restore.failedStage} stage`;
      return skip(meta.summary);
    }
    const failed = testsOf(task.file).filter((t) => t !== task && t.result?.state === 'fail');
    if (failed.length > 0) {
      meta.summary = `not run: ${failed.length} check(s) failed already, so the drill fails`;
      return skip(meta.summary);
    }
    if (drill.manifest?.options.schemaOnly) {
      meta.summary = 'not applicable: schema-only backup (no rows to change)';
      return skip(meta.summary);
    }
    const context: MutationContext = { state: drill, manifest: drill.manifest, checks };
    const results: MutationResult[] = [];
    const client = await pool.connect();
    try {
      for (const mutation of MUTATIONS) {
        const reason = mutation.applies(drill);
        if (reason) {
          results.push({ check: mutation.check, mutation: '-', caught: null, detail: `not applicable: ${reason}`, durationMs: 0 });
          continue;
        }
        const started = Date.now();
        await client.query('BEGIN');
        try {
          results.push({ check: mutation.check, ...(await mutation.run(client, context)), durationMs: Date.now() - started });
        } finally {
          await client.query('ROLLBACK');
        }
      }
    } finally {
      client.release();
    }
    const applied = results.filter((r) => r.caught !== null);
    const caught = applied.filter((r) => r.caught);
    const missed = applied.filter((r) => !r.caught);
    const notApplicable = results.filter((r) => r.caught === null).map((r) => `${r.check} (${r.detail.replace(/^not applicable: /, '')})`);
    const tail = notApplicable.length ? `; not applicable: ${notApplicable.join(', ')}` : '';
    meta.evidence = { mutations: results, caught: caught.length, applied: applied.length };
    if (missed.length > 0) {
      meta.status = 'fail';
      meta.summary = `sensitivity shown: ${caught.length} of ${applied.length} mutations caught; not caught: ${missed.map((r) => `${r.check} after "${r.mutation}" (${r.detail})`).join('; ')}`;
      throw new CheckFailed(meta.summary);
    }
    meta.status = applied.length ? 'pass' : 'warn';
    meta.summary = applied.length
      ? `sensitivity shown: ${caught.length} of ${applied.length} mutations caught (${caught.map((r) => r.check).join(', ')})${tail}`
      : `no check could be shown able to fail: no mutation applies${tail}`;
  });
}
