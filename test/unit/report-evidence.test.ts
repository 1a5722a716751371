import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ReportError } from '../../src/errors/index.ts';
import { defaultControls, defaultSignoff, parseEvidence, serializeEvidence } from '../../src/evidence/schema.ts';

const passJson = readFileSync(new URL('../fixtures/evidence-pass.json', import.meta.url), 'utf8');
const failJson = readFileSync(new URL('../fixtures/evidence-fail.json', import.meta.url), 'utf8');

/** A deep copy of the passing fixture, to break one field at a time (untyped on purpose). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function passRaw(): any {
  return JSON.parse(passJson);
}

function issuesOf(value: unknown): string {
  try {
    parseEvidence(value);
  } catch (error) {
    expect(error).toBeInstanceOf(ReportError);
    return (error as Error).message;
  }
  throw new Error('expected parseEvidence to throw');
}

describe('DrillEvidence schema', () => {
  it('accepts the passing and the failing fixture', () => {
    const pass = parseEvidence(passJson);
    const fail = parseEvidence(Buffer.from(failJson));
    expect(pass.verdict).toBe('PASS');
    expect(fail.verdict).toBe('FAIL');
    expect(pass.retention.monthly).toHaveLength(84);
    expect(pass.retention.daily).toHaveLength(7);
    expect(pass.history.at(-1)?.drillId).toBe(pass.drillId);
  });

  it('fills control wording, breach line and sign-off roles when the drill left them out', () => {
    const raw = passRaw();
    delete raw.controls;
    delete raw.breachAssessment;
    delete raw.signoff;
    const e = parseEvidence(raw);
    expect(e.controls).toEqual(defaultControls());
    expect(e.controls.map((c) => c.ref)).toEqual([
      'NDPA 2023 s.39(2)(c)',
      'NDPA 2023 s.39(2)(d)',
      'NDPA 2023 s.39(2)(f)',
      'NDPA 2023 s.39(2)(g)',
      'ISO/IEC 27001:2022 A.8.13',
    ]);
    expect(e.breachAssessment).toMatch(/s\.40/);
    expect(e.signoff.map((s) => s.role)).toEqual(['Performed by', 'Verified by (independent verifier)', 'System owner', 'DPO acknowledgement']);
    expect(parseEvidence(JSON.parse(failJson)).breachAssessment).toMatch(/72 hours/);
  });

  it('keeps wording the evidence overrides', () => {
    const raw = passRaw();
    raw.controls = [{ ref: 'Internal policy BK-3', text: 'Monthly restore test.' }];
    raw.breachAssessment = 'Reviewed by the DPO: none needed.';
    expect(parseEvidence(raw).controls).toEqual(raw.controls);
    expect(parseEvidence(raw).breachAssessment).toBe('Reviewed by the DPO: none needed.');
  });

  it('pre-prints configured sign-off names', () => {
    expect(defaultSignoff({ performedBy: 'A. Bello', dpo: 'C. Eze' })).toEqual([
      { role: 'Performed by', name: 'A. Bello' },
      { role: 'Verified by (independent verifier)' },
      { role: 'System owner' },
      { role: 'DPO acknowledgement', name: 'C. Eze' },
    ]);
  });

  it('defaults the time zone to Africa/Lagos (WAT)', () => {
    const raw = passRaw();
    delete raw.timeZone;
    expect(parseEvidence(raw).timeZone).toBe('Africa/Lagos');
  });

  it('rejects bad evidence and names every field by path', () => {
    const raw = passRaw();
    raw.formatVersion = 2;
    raw.backup.sha256 = 'not-a-hash';
    raw.timeZone = 'Mars/Olympus';
    raw.startedAt = '2026-11-23 01:00';
    raw.checks[0].status = 'ok';
    const message = issuesOf(raw);
    expect(message).toContain('formatVersion');
    expect(message).toContain('backup.sha256');
    expect(message).toContain('timeZone');
    expect(message).toContain('startedAt');
    expect(message).toContain('checks.0.status');
  });

  it('rejects a PASS verdict with a failed check', () => {
    const raw = passRaw();
    raw.checks[2].status = 'fail';
    expect(issuesOf(raw)).toMatch(/verdict: verdict is PASS but at least one check failed/);
  });

  it('rejects a half-filled ledger entry', () => {
    const raw = passRaw();
    raw.ledger.previousEvidenceSha256 = null;
    expect(issuesOf(raw)).toMatch(/ledger: previousDrillId and previousEvidenceSha256/);
  });

  it('rejects drill ids that are unsafe as file names', () => {
    const raw = passRaw();
    raw.drillId = '../../etc/passwd';
    expect(issuesOf(raw)).toMatch(/drillId/);
  });

  it('rejects history that does not end with this drill, and more than 12 entries', () => {
    const raw = passRaw();
    raw.history = raw.history.slice(0, -1);
    expect(issuesOf(raw)).toMatch(/history: the last history entry must be this drill/);
    const long = passRaw();
    long.history = [long.history[0], ...long.history];
    expect(issuesOf(long)).toMatch(/history/);
  });

  it('rejects text that is not JSON with a clear message', () => {
    expect(() => parseEvidence('{not json', 'reports/x.json')).toThrow(/reports\/x\.json is not valid JSON/);
  });

  it('serializes to pretty JSON with a final newline, stable across a parse round trip', () => {
    const e = parseEvidence(passJson);
    const bytes = serializeEvidence(e);
    expect(bytes.toString('utf8').endsWith('}\n')).toBe(true);
    expect(serializeEvidence(parseEvidence(bytes)).equals(bytes)).toBe(true);
  });
});
