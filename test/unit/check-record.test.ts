// The check record (issue 10 item 9): how one finished drill test becomes an entry of the report,
// judged from plain data (checkRecordOf), so no vitest run is needed to test it.
import { describe, expect, it } from 'vitest';
import { checkRecordOf, type FinishedTest } from '../../src/drill/reporter.ts';
import type { CheckMeta } from '../../src/drill/types.ts';

/** A finished test of drills/custom.drill.ts; `pgdrill` is what the check left in `task.meta`. */
function finished(state: FinishedTest['state'], extra: Partial<FinishedTest> & { pgdrill?: CheckMeta } = {}): FinishedTest {
  const { pgdrill, ...rest } = extra;
  return { name: 'Invoices add up', moduleId: 'drills/custom.drill.ts', meta: pgdrill ? { pgdrill } : {}, state, errors: [], durationMs: 12, ...rest };
}

const builtIn: CheckMeta = { id: 'record-counts', title: 'Record counts match', description: 'Every table has the rows of the snapshot.', builtIn: true };

describe('checkRecordOf', () => {
  it('records a test that never finished (pending) as a failure, never a pass', () => {
    for (const meta of [undefined, builtIn, { ...builtIn, status: 'pass' as const }]) {
      const record = checkRecordOf(finished('pending', { pgdrill: meta }));
      expect(record.status).toBe('fail');
      expect(record.summary).toBe('did not finish');
      expect(record.failure).toBe('did not finish');
    }
  });

  it("takes a passed test's own check status: warn keeps its summary as the failure text", () => {
    const record = checkRecordOf(finished('passed', { pgdrill: { ...builtIn, id: 'retention', status: 'warn', summary: '2 monthly copies missing: 2026-03, 2026-04' } }));
    expect(record).toMatchObject({ id: 'retention', status: 'warn', summary: '2 monthly copies missing: 2026-03, 2026-04', failure: '2 monthly copies missing: 2026-03, 2026-04' });
    const pass = checkRecordOf(finished('passed', { pgdrill: { ...builtIn, status: 'pass', summary: '3 tables, 42 rows: every count matches' } }));
    expect(pass).toEqual({
      id: 'record-counts',
      title: 'Record counts match',
      description: 'Every table has the rows of the snapshot.',
      builtIn: true,
      status: 'pass',
      durationMs: 12,
      summary: '3 tables, 42 rows: every count matches',
    });
  });

  it('records a skip with its note, or "skipped" without one', () => {
    expect(checkRecordOf(finished('skipped', { note: 'no audit chain configured' }))).toMatchObject({ status: 'skip', summary: 'no audit chain configured' });
    const plain = checkRecordOf(finished('skipped'));
    expect(plain).toMatchObject({ status: 'skip', summary: 'skipped' });
    expect(plain).not.toHaveProperty('failure');
    // The summary a check set before skipping wins over the note.
    const notRun = checkRecordOf(finished('skipped', { note: 'x', pgdrill: { ...builtIn, summary: 'not run: restore failed at the restore stage' } }));
    expect(notRun.summary).toBe('not run: restore failed at the restore stage');
  });

  it("summarises a failure by the first line of its first error and keeps the whole message as the failure", () => {
    const message = 'expected 41 to be 42\n  at drills/custom.drill.ts:12:5';
    const record = checkRecordOf(finished('failed', { errors: [{ message }, { message: 'second error' }] }));
    expect(record).toMatchObject({ status: 'fail', summary: 'expected 41 to be 42', failure: message });
    // A passed test's errors (a retried flaky test) are not a failure.
    expect(checkRecordOf(finished('passed', { errors: [{ message: 'first try failed' }] }))).toMatchObject({ status: 'pass', summary: 'passed' });
    expect(checkRecordOf(finished('failed', { errors: [] }))).toMatchObject({ status: 'fail', summary: 'failed', failure: 'failed' });
    // A check that failed after setting its summary keeps it; the failure is the error.
    const counted = checkRecordOf(finished('failed', { errors: [{ message: 'CheckFailed: public.users: 41 of 42 rows' }], pgdrill: { ...builtIn, status: 'fail', summary: '1 table differs' } }));
    expect(counted).toMatchObject({ status: 'fail', summary: '1 table differs', failure: 'CheckFailed: public.users: 41 of 42 rows' });
  });

  it('describes a custom check (no check metadata) by its test name and file', () => {
    expect(checkRecordOf(finished('passed'))).toEqual({
      id: 'invoices-add-up',
      title: 'Invoices add up',
      description: 'Custom check in drills/custom.drill.ts',
      builtIn: false,
      status: 'pass',
      durationMs: 12,
      summary: 'passed',
    });
  });

  it('copies evidence as plain JSON, detached from the test', () => {
    const evidence = { checkedAt: new Date('2026-11-23T01:00:00Z'), tables: ['public.users'], skipped: undefined, nested: { rows: 42 } };
    const record = checkRecordOf(finished('passed', { pgdrill: { id: 'custom', evidence } }));
    expect(record.evidence).toEqual({ checkedAt: '2026-11-23T01:00:00.000Z', tables: ['public.users'], nested: { rows: 42 } });
    evidence.nested.rows = 0;
    expect(record.evidence).toEqual({ checkedAt: '2026-11-23T01:00:00.000Z', tables: ['public.users'], nested: { rows: 42 } });
    expect(checkRecordOf(finished('passed'))).not.toHaveProperty('evidence');
  });
});
