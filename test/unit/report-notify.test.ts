import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { buildNotification, createConsoleNotifier } from '../../src/notify/index.ts';
import { parseEvidence } from '../../src/evidence/schema.ts';

const pass = parseEvidence(await readFile(new URL('../fixtures/evidence-pass.json', import.meta.url)));
const fail = parseEvidence(await readFile(new URL('../fixtures/evidence-fail.json', import.meta.url)));

describe('notifications', () => {
  it('builds a plain-text summary with the failed checks', () => {
    const n = buildNotification(fail, '/srv/reports/2026-11/x.pdf');
    expect(n).toMatchObject({ verdict: 'FAIL', drillId: 'drill-20261123T010000Z-oslrs', pdfPath: '/srv/reports/2026-11/x.pdf' });
    expect(n.failedChecks).toEqual(['Restore completed', 'Row counts reconcile', 'Every title deed has an owner']);
    expect(n.summary).toContain('[FAIL] Restore drill drill-20261123T010000Z-oslrs');
    expect(n.summary).toContain('RTO 41.1 min (target 30 min)');
    expect(buildNotification(pass, 'x.pdf').summary).toContain('No check failed (10 of 11 passed).');
  });

  it('prints to the console writer', async () => {
    const lines: string[] = [];
    const notifier = createConsoleNotifier((line) => lines.push(line));
    expect(notifier.name).toBe('console');
    await notifier.notify(buildNotification(pass, 'reports/2026-11/x.pdf'));
    expect(lines.join('\n')).toMatch(/^\[PASS\][\s\S]*Report: reports\/2026-11\/x\.pdf$/);
  });
});
