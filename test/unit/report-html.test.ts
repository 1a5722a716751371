import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { restoreTrendSvg, retentionGridSvg, verdictStripSvg } from '../../src/report/charts.ts';
import { parseEvidence } from '../../src/evidence/schema.ts';
import { formatBytes, formatDuration, formatLocal } from '../../src/format/index.ts';
import { redactPersonalData } from '../../src/report/text.ts';
import { renderReportHtml } from '../../src/report/render.ts';
import { buildView } from '../../src/report/view.ts';

const pass = parseEvidence(await readFile(new URL('../fixtures/evidence-pass.json', import.meta.url)));
const fail = parseEvidence(await readFile(new URL('../fixtures/evidence-fail.json', import.meta.url)));
const HASH = 'ab'.repeat(32);

describe('formatting', () => {
  it('prints local time in WAT and durations for people', () => {
    expect(formatLocal('2026-11-23T01:00:00.000Z', 'Africa/Lagos')).toBe('23 Nov 2026, 02:00 WAT');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(252_000)).toBe('4 min 12 s');
    expect(formatDuration(3_900_000)).toBe('1 h 05 min');
    expect(formatDuration(null)).toBe('not reached');
    expect(formatBytes(2_871_402_113)).toBe('2.87 GB');
  });

  it('redacts emails, phone numbers and NIN-like numbers from check text', () => {
    const out = redactPersonalData('owner ada.obi@example.com (+234 803 123 4567) alt 08031234567, NIN 12345678901, deed TD/2026/118833, 1,874,330 rows');
    expect(out).toBe('owner [redacted email] ([redacted phone]) alt [redacted phone], NIN [redacted id number], deed TD/2026/118833, 1,874,330 rows');
  });
});

describe('view', () => {
  it('summarises a passing drill for page 1', () => {
    const v = buildView(pass, { css: '', evidenceSha256: HASH, evidenceFileName: 'x.json', signature: null, logoDataUri: null });
    expect(v.glance.rto).toMatchObject({ measured: '20.5 min', target: '30 min', met: true });
    expect(v.glance.rpo).toMatchObject({ measured: '1.8 h', target: '24 h', met: true });
    expect(v.glance.integrity.ok).toBe(true);
    expect(v.glance.checks).toMatchObject({ failed: 0, total: 11 });
    expect(v.glance.nextDrillDue).toBe('23 Dec 2026');
    expect(v.tables).toMatchObject({ count: 17, reconciled: true, compact: false });
    expect(v.tables.columns.map((c) => c.length)).toEqual([9, 8]);
  });

  it('keeps a warning to one line: no corrective-action form, only failures need one', () => {
    const v = buildView(pass, { css: '', evidenceSha256: HASH, evidenceFileName: 'x.json', signature: null, logoDataUri: null });
    expect(v.findings.map((f) => [f.id, f.status])).toEqual([['recent-transactions', 'warn']]);
    expect(v.failFindings).toEqual([]);
    expect(v.warnFindings).toHaveLength(1);
    expect(v.warnFindings[0]).toMatchObject({ actionRequired: false, actionNotes: [] });
    expect(v.warnFindings[0]?.warnDetail).toContain('expected within 2 hours');
    // A warning whose message only repeats its summary prints the summary once; a recorded action is kept.
    const warned = parseEvidence({
      ...pass,
      checks: pass.checks.map((c) =>
        c.id === 'recent-transactions' ? { ...c, failure: c.summary, correctiveAction: { owner: 'DBA team', dueDate: '2026-12-15' } } : c,
      ),
    });
    const w = buildView(warned, { css: '', evidenceSha256: HASH, evidenceFileName: 'x.json', signature: null, logoDataUri: null }).warnFindings[0];
    expect(w?.warnDetail).toBe(w?.summary);
    expect(w?.actionNotes).toEqual(['Owner: DBA team', 'Due: 15 Dec 2026']);
  });

  it('surfaces failures, differences and blank corrective-action fields for a failing drill', () => {
    const v = buildView(fail, { css: '', evidenceSha256: HASH, evidenceFileName: 'x.json', signature: null, logoDataUri: null });
    expect(v.glance.rto.met).toBe(false);
    expect(v.glance.integrity).toMatchObject({ ok: false, label: 'Not reconciled' });
    expect(v.tables.differing).toEqual(['public.transactions', 'public.payments', 'public.sessions']);
    expect(v.failFindings.map((f) => f.id)).toEqual(['restore-clean', 'row-counts', 'deeds-have-owner']);
    expect(v.warnFindings.map((f) => f.id)).toEqual(['recent-transactions']);
    expect(v.findings.map((f) => [f.id, f.action?.owner ?? null])).toEqual([
      ['restore-clean', 'Platform team (T. Adeyemi)'],
      ['row-counts', null],
      ['deeds-have-owner', null],
      ['recent-transactions', null],
    ]);
    const deeds = v.checks.find((c) => c.id === 'deeds-have-owner');
    expect(deeds?.failure).toContain('[redacted email]');
    expect(deeds?.failure).not.toContain('ada.obi@example.com');
  });
});

describe('charts', () => {
  it('draws the trend with the RTO target, a 12-cell strip and an 84 + 7 slot retention grid', () => {
    const trend = restoreTrendSvg(fail);
    expect(trend).toContain('RTO target 30 min');
    expect(trend).toContain('stroke-dasharray="5 3"');
    const strip = verdictStripSvg(fail);
    expect(strip.match(/>PASS</g)).toHaveLength(10);
    expect(strip.match(/>FAIL</g)).toHaveLength(2);
    const grid = retentionGridSvg(fail);
    expect(grid.match(/<rect /g)).toHaveLength(84 + 7);
    expect(grid).toContain('84 monthly slots: 31 present, 2 missing, 51 not yet due');
  });

  it('shows every enabled tier: seed 003 (24 hourly, 30 daily, 8 quarterly) with no monthly grid', () => {
    const hours = Array.from({ length: 24 }, (_, i) => ({ period: `2026-11-2${i < 12 ? 2 : 3}T${String((i + 12) % 24).padStart(2, '0')}`, state: i === 5 ? ('missing' as const) : ('present' as const) }));
    const quarters = ['2025-Q1', '2025-Q2', '2025-Q3', '2025-Q4', '2026-Q1', '2026-Q2', '2026-Q3', '2026-Q4'].map((period, i) => ({ period, state: i < 3 ? ('not-due' as const) : ('present' as const) }));
    const days = Array.from({ length: 30 }, (_, i) => ({ day: new Date(Date.UTC(2026, 9, 25 + i)).toISOString().slice(0, 10), state: 'present' as const }));
    const seed003 = parseEvidence({
      ...pass,
      retention: {
        policy: { hourly: 24, daily: 30, weekly: 0, monthly: 0, quarterly: 8, yearly: 0 },
        monthly: [],
        daily: days,
        tiers: [
          { tier: 'hourly', slots: hours },
          { tier: 'quarterly', slots: quarters },
        ],
      },
    });
    const grid = retentionGridSvg(seed003);
    expect(grid.match(/<rect /g)).toHaveLength(24 + 30 + 8);
    expect(grid).toContain('Last 24 hours: 2026-11-22T12 – 2026-11-23T11');
    expect(grid).toContain('Last 8 quarters: 2025-Q1 – 2026-Q4');
    expect(grid).toContain('hourly: 23 of 24 present; quarterly: 5 of 8 present');
    const v = buildView(seed003, { css: '', evidenceSha256: HASH, evidenceFileName: 'x.json', signature: null, logoDataUri: null });
    expect(v.retention.policyText).toBe('24 hourly, 30 daily, 0 weekly, 0 monthly and 8 quarterly backups (2 years)');
    expect(v.retention.tierLines).toEqual(['Hourly: 23 of 24 present', 'Quarterly: 5 of 8 present']);
    expect(v.retention.complete).toBe(false);
    // Seed 001's record (no tiers) reads as before.
    expect(buildView(pass, { css: '', evidenceSha256: HASH, evidenceFileName: 'x.json', signature: null, logoDataUri: null }).retention.tierLines).toEqual([]);
  });

  it('pads a short history with empty slots, newest at the right', () => {
    const first = parseEvidence({ ...pass, history: pass.history.slice(-1), ledger: { previousDrillId: null, previousEvidenceSha256: null } });
    expect(verdictStripSvg(first).match(/stroke-dasharray="2 2"/g)).toHaveLength(11);
  });
});

describe('HTML', () => {
  it('is self-contained: no external resources, no scripts', async () => {
    for (const e of [pass, fail]) {
      const html = await renderReportHtml(e, { evidenceSha256: HASH });
      expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
      expect(html).not.toMatch(/url\(\s*["']?(https?:)?\/\//i);
      expect(html).not.toMatch(/@import|<script|<link /i);
      expect(html).toContain("default-src 'none'");
    }
  });

  it('never prints the structured check evidence or raw personal data from failures', async () => {
    const html = await renderReportHtml(fail, { evidenceSha256: HASH });
    expect(JSON.stringify(fail.checks)).toContain('chinedu.leak@example.ng');
    expect(html).not.toContain('chinedu.leak@example.ng');
    expect(html).not.toContain('08031234567');
    expect(html).not.toContain('ada.obi@example.com');
    expect(html).not.toContain('12345678901');
    expect(html).toContain('[redacted email]');
  });

  it('escapes text from the evidence', async () => {
    const html = await renderReportHtml(parseEvidence({ ...pass, system: '<img src=x onerror=alert(1)>' }), { evidenceSha256: HASH });
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;img src&#x3D;x');
  });

  it('prints the full corrective-action form for failures and a single line for warnings', async () => {
    const count = (html: string, needle: string): number => html.split(needle).length - 1;
    const failHtml = await renderReportHtml(fail, { evidenceSha256: HASH });
    expect(count(failHtml, '<table class="action">')).toBe(3);
    expect(count(failHtml, '<div class="warn-line">')).toBe(1);
    expect(failHtml).toContain('Findings and corrective actions');
    const passHtml = await renderReportHtml(pass, { evidenceSha256: HASH });
    expect(count(passHtml, '<table class="action">')).toBe(0);
    expect(count(passHtml, '<div class="warn-line">')).toBe(1);
    expect(passHtml).toContain('<h3>Findings</h3>');
    expect(passHtml).toContain('no action required');
    expect(passHtml).not.toContain('not assigned');
  });

  it('marks checks with structured evidence once, with one note under the checklist', async () => {
    const html = await renderReportHtml(pass, { evidenceSha256: HASH });
    expect(html).not.toContain('(details in the evidence JSON)');
    expect(html.match(/class="json-ref"/g)).toHaveLength(pass.checks.filter((c) => c.evidence !== undefined).length);
    expect(html.match(/Structured details of the marked checks/g)).toHaveLength(1);
  });

  it('states the NDPA retention wording and the record hash', async () => {
    const html = await renderReportHtml(pass, { evidenceSha256: HASH });
    const plain = html.replace(/<[^>]+>/g, ' ').replace(/&#x27;/g, "'").replace(/\s+/g, ' ');
    expect(plain).toContain("7 years is the registry's own policy; the NDPA sets no fixed retention period.");
    expect(html).toContain(HASH);
    expect(html).toContain('NOT SIGNED');
  });
});
