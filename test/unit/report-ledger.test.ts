import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { drillReportKey } from '../../src/catalog/index.ts';
import { ReportError } from '../../src/errors/index.ts';
import { parseEvidence, serializeEvidence } from '../../src/evidence/schema.ts';
import type { DrillEvidence } from '../../src/evidence/schema.ts';
import {
  generateSigningKey,
  hashEvidence,
  historyWith,
  nextLedger,
  publicKeyFingerprint,
  publishReport,
  readDrillHistory,
  signatureSidecar,
  signEvidence,
  verifyEvidenceSignature,
  verifyReports,
} from '../../src/evidence/ledger.ts';
import type { RecordProblemKind } from '../../src/evidence/ledger.ts';
import { createLocalStorage } from '../../src/storage/index.ts';
import type { BackupStorage } from '../../src/storage/types.ts';

const PREFIX = 'backups';
const template = parseEvidence(await readFile(new URL('../fixtures/evidence-pass.json', import.meta.url)));
const keys = generateSigningKey();

let dir: string;
let storage: BackupStorage;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgdrill-ledger-'));
  storage = createLocalStorage({ root: join(dir, 'storage') });
});
afterEach(async () => {
  await storage.close();
  await rm(dir, { recursive: true, force: true });
});

async function text(key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await storage.get(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function put(key: string, body: string | Buffer): Promise<void> {
  await storage.put(key, Readable.from([Buffer.from(body)]));
}

/**
 * Files one drill the way a drill does: read the history from storage, chain to the newest
 * record, write the evidence (stub HTML/PDF: rendering is the integration test's job), sign,
 * publish. Returns the evidence as filed.
 */
async function fileDrill(startedAt: string, options: { sign?: boolean; verdict?: 'PASS' | 'FAIL' } = {}): Promise<DrillEvidence> {
  const records = await readDrillHistory(storage, PREFIX);
  const drillId = `drill-${startedAt.replace(/[-:]|\.\d+/g, '')}-test`;
  const rtoMs = 1_000_000 + records.length * 60_000;
  const evidence = parseEvidence({
    ...template,
    drillId,
    startedAt,
    finishedAt: new Date(Date.parse(startedAt) + 1_500_000).toISOString(),
    verdict: options.verdict ?? 'PASS',
    checks: options.verdict === 'FAIL' ? template.checks.map((c, i) => (i === 0 ? { ...c, status: 'fail' as const } : c)) : template.checks,
    timings: { ...template.timings, rtoMs },
    ledger: nextLedger(records),
    history: historyWith(records, { drillId, startedAt, verdict: options.verdict ?? 'PASS', rtoMs }),
  });
  const bytes = serializeEvidence(evidence);
  const base = join(dir, drillId);
  await writeFile(`${base}.json`, bytes);
  await writeFile(`${base}.html`, '<!DOCTYPE html><title>stub</title>');
  await writeFile(`${base}.pdf`, '%PDF-1.4 stub');
  let signaturePath: string | undefined;
  if (options.sign ?? true) {
    signaturePath = `${base}.json.sig`;
    await writeFile(signaturePath, JSON.stringify(signatureSidecar(bytes, keys.privateKeyPem)));
  }
  await publishReport(storage, PREFIX, { jsonPath: `${base}.json`, htmlPath: `${base}.html`, pdfPath: `${base}.pdf`, signaturePath }, evidence);
  return evidence;
}

const jsonKey = (e: DrillEvidence): string => drillReportKey(PREFIX, e.drillId, new Date(e.startedAt), 'json');

/** Four monthly drills, chained and signed. */
async function fileFour(): Promise<DrillEvidence[]> {
  const filed: DrillEvidence[] = [];
  for (const month of ['08', '09', '10', '11']) filed.push(await fileDrill(`2026-${month}-23T01:00:00.000Z`));
  return filed;
}

function kinds(result: Awaited<ReturnType<typeof verifyReports>>): Array<[RecordProblemKind, string]> {
  return result.problems.map((p) => [p.kind, p.drillId]);
}

describe('signing', () => {
  it('signs with Ed25519 and verifies only the exact bytes under the matching key', () => {
    const bytes = Buffer.from('{"a":1}\n');
    const signature = signEvidence(bytes, keys.privateKeyPem);
    expect(Buffer.from(signature, 'base64')).toHaveLength(64);
    expect(verifyEvidenceSignature(bytes, signature, keys.publicKeyPem)).toBe(true);
    expect(verifyEvidenceSignature(Buffer.from('{"a":2}\n'), signature, keys.publicKeyPem)).toBe(false);
    expect(verifyEvidenceSignature(bytes, signature, generateSigningKey().publicKeyPem)).toBe(false);
  });

  it('accepts base64 PKCS#8 DER as well as PEM, with the same fingerprint', () => {
    const der = keys.privateKeyPem.replace(/-----[^-]+-----|\s/g, '');
    const bytes = Buffer.from('x');
    expect(verifyEvidenceSignature(bytes, signEvidence(bytes, der), keys.publicKeyPem)).toBe(true);
    expect(publicKeyFingerprint(der, 'private')).toBe(publicKeyFingerprint(keys.publicKeyPem));
    expect(publicKeyFingerprint(keys.publicKeyPem)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('writes a sidecar naming the algorithm, key fingerprint and signed hash', () => {
    const bytes = Buffer.from('evidence');
    const sidecar = signatureSidecar(bytes, keys.privateKeyPem);
    expect(sidecar).toMatchObject({ algorithm: 'ed25519', publicKeyFingerprint: publicKeyFingerprint(keys.publicKeyPem), evidenceSha256: hashEvidence(bytes) });
  });

  it('refuses keys that are not Ed25519 or not keys at all, saying what to use', () => {
    expect(() => signEvidence(Buffer.from('x'), 'garbage')).toThrow(ReportError);
    expect(() => signEvidence(Buffer.from('x'), 'garbage')).toThrow(/PKCS#8/);
  });
});

describe('ledger in storage', () => {
  it('publishes json, html, pdf and sig under drills/{YYYY-MM}/ and chains each record to the previous one', async () => {
    const [first, second] = [await fileDrill('2026-10-23T01:00:00.000Z'), await fileDrill('2026-11-23T01:00:00.000Z')];
    const listed: string[] = [];
    for await (const o of storage.list(`${PREFIX}/drills/`)) listed.push(o.key);
    expect(listed).toEqual([
      'backups/drills/2026-10/drill-20261023T010000Z-test.html',
      'backups/drills/2026-10/drill-20261023T010000Z-test.json',
      'backups/drills/2026-10/drill-20261023T010000Z-test.json.sig',
      'backups/drills/2026-10/drill-20261023T010000Z-test.pdf',
      'backups/drills/2026-11/drill-20261123T010000Z-test.html',
      'backups/drills/2026-11/drill-20261123T010000Z-test.json',
      'backups/drills/2026-11/drill-20261123T010000Z-test.json.sig',
      'backups/drills/2026-11/drill-20261123T010000Z-test.pdf',
    ]);
    expect(first?.ledger).toEqual({ previousDrillId: null, previousEvidenceSha256: null });
    expect(second?.ledger).toEqual({ previousDrillId: first?.drillId, previousEvidenceSha256: hashEvidence(await text(jsonKey(first as DrillEvidence))) });
    expect(second?.history.map((h) => h.drillId)).toEqual([first?.drillId, second?.drillId]);
  });

  it('reads the history newest last, limited, with each record hash', async () => {
    const filed = await fileFour();
    const records = await readDrillHistory(storage, PREFIX, 3);
    expect(records.map((r) => r.evidence.drillId)).toEqual(filed.slice(1).map((e) => e.drillId));
    expect(records.every((r) => r.signed)).toBe(true);
    expect(records[2]?.evidenceSha256).toBe(hashEvidence(await text(jsonKey(filed[3] as DrillEvidence))));
    expect(await readDrillHistory(storage, 'elsewhere')).toEqual([]);
  });

  it('keeps at most 12 history entries including the new drill', async () => {
    for (let m = 1; m <= 13; m += 1) await fileDrill(`2026-${String(m).padStart(2, '0')}-23T01:00:00.000Z`.replace('2026-13', '2027-01'));
    const records = await readDrillHistory(storage, PREFIX);
    expect(records).toHaveLength(12);
    const newest = records.at(-1)?.evidence;
    expect(newest?.history).toHaveLength(12);
    expect(newest?.history.at(-1)?.drillId).toBe(newest?.drillId);
  });

  it('fails clearly on a damaged record, or reports it to onInvalid', async () => {
    const [first] = await fileFour();
    await put(jsonKey(first as DrillEvidence), '{"formatVersion":1');
    await expect(readDrillHistory(storage, PREFIX)).rejects.toThrow(/verify-reports/);
    const invalid: string[] = [];
    const records = await readDrillHistory(storage, PREFIX, 12, { onInvalid: (key) => invalid.push(key) });
    expect(invalid).toEqual([jsonKey(first as DrillEvidence)]);
    expect(records).toHaveLength(3);
  });
});

describe('verifyReports', () => {
  it('passes an intact, signed chain', async () => {
    await fileFour();
    const result = await verifyReports(storage, PREFIX, { publicKey: keys.publicKeyPem });
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.records.map((r) => [r.status, r.signature])).toEqual(Array(4).fill(['ok', 'valid']));
  });

  it('detects a deleted record (the next record names it)', async () => {
    const filed = await fileFour();
    const gone = filed[1] as DrillEvidence;
    await storage.delete([jsonKey(gone), `${jsonKey(gone)}.sig`, jsonKey(gone).replace(/json$/, 'html'), jsonKey(gone).replace(/json$/, 'pdf')]);
    const result = await verifyReports(storage, PREFIX);
    expect(result.ok).toBe(false);
    expect(kinds(result)).toEqual([['missing', filed[2]?.drillId]]);
    expect(result.problems[0]?.message).toContain(`no record of ${gone.drillId} is in storage`);
  });

  it('detects an edited record through the next record’s hash, without any key', async () => {
    const filed = await fileFour();
    const edited = filed[1] as DrillEvidence;
    const original = await text(jsonKey(edited));
    await put(jsonKey(edited), original.replace('"rpoHours": 1.83', '"rpoHours": 0.5'));
    const result = await verifyReports(storage, PREFIX);
    expect(kinds(result)).toEqual([['altered', edited.drillId]]);
    expect(result.problems[0]?.message).toMatch(/changed after drill-20261023T010000Z-test was filed/);
  });

  it('detects an edit of the newest record through its signature', async () => {
    const filed = await fileFour();
    const newest = filed[3] as DrillEvidence;
    await put(jsonKey(newest), (await text(jsonKey(newest))).replace('"rpoHours": 1.83', '"rpoHours": 0.5'));
    expect((await verifyReports(storage, PREFIX)).ok).toBe(true); // nothing chains to the newest record…
    const result = await verifyReports(storage, PREFIX, { publicKey: keys.publicKeyPem }); // …but it is signed
    expect(kinds(result)).toEqual([['altered', newest.drillId]]);
    expect(result.problems[0]?.message).toMatch(/signature does not match/);
    expect(result.records.at(-1)?.signature).toBe('invalid');
  });

  it('detects an edit that breaks the schema', async () => {
    const filed = await fileFour();
    const edited = filed[2] as DrillEvidence;
    await put(jsonKey(edited), (await text(jsonKey(edited))).replace('"verdict": "PASS"', '"verdict": "PASSED"'));
    const result = await verifyReports(storage, PREFIX);
    expect(result.problems.every((p) => p.kind === 'altered' && p.drillId === edited.drillId)).toBe(true);
    expect(result.problems.map((p) => p.message).join('\n')).toMatch(/no longer matches the evidence schema/);
  });

  it('detects a back-dated record inserted into the chain (reordered)', async () => {
    const filed = await fileFour();
    // Filed after November's drill and chained to it, but dated in October: the chain says it is
    // newest, the dates say it sits between September and October.
    const backdated = await fileDrill('2026-12-23T01:00:00.000Z');
    const raw = await text(jsonKey(backdated));
    await storage.delete([jsonKey(backdated), `${jsonKey(backdated)}.sig`]);
    const moved = parseEvidence(raw.replaceAll('2026-12-23T01', '2026-10-10T01'));
    const bytes = serializeEvidence(moved);
    const key = drillReportKey(PREFIX, moved.drillId, new Date(moved.startedAt), 'json');
    await put(key, bytes);
    await put(key.replace(/json$/, 'pdf'), 'stub');
    await put(key.replace(/json$/, 'html'), 'stub');
    const result = await verifyReports(storage, PREFIX);
    expect(result.ok).toBe(false);
    const reordered = result.problems.filter((p) => p.kind === 'reordered');
    expect(reordered.map((p) => p.drillId)).toContain(moved.drillId);
    expect(reordered.find((p) => p.drillId === moved.drillId)?.message).toMatch(
      new RegExp(`names ${filed[3]?.drillId} .* as the previous drill, but by start time the previous record is ${filed[1]?.drillId}`),
    );
  });

  it('detects a record moved to another month folder (reordered)', async () => {
    const filed = await fileFour();
    const moved = filed[1] as DrillEvidence;
    const elsewhere = jsonKey(moved).replace('/2026-09/', '/2026-12/');
    for (const ext of ['json', 'json.sig', 'html', 'pdf']) {
      await storage.copy(jsonKey(moved).replace(/json$/, ext), elsewhere.replace(/json$/, ext));
      await storage.delete([jsonKey(moved).replace(/json$/, ext)]);
    }
    const result = await verifyReports(storage, PREFIX, { publicKey: keys.publicKeyPem });
    expect(kinds(result)).toEqual([['reordered', moved.drillId]]);
    expect(result.problems[0]?.message).toContain(`is filed as ${elsewhere}`);
  });

  it('flags unsigned records when a public key is required', async () => {
    await fileDrill('2026-10-23T01:00:00.000Z');
    const unsigned = await fileDrill('2026-11-23T01:00:00.000Z', { sign: false });
    expect((await verifyReports(storage, PREFIX)).ok).toBe(true);
    const result = await verifyReports(storage, PREFIX, { publicKey: keys.publicKeyPem });
    expect(kinds(result)).toEqual([['unsigned', unsigned.drillId]]);
  });

  it('flags records signed by another key', async () => {
    await fileDrill('2026-11-23T01:00:00.000Z');
    const result = await verifyReports(storage, PREFIX, { publicKey: generateSigningKey().publicKeyPem });
    expect(kinds(result)).toEqual([['altered', 'drill-20261123T010000Z-test']]);
    expect(result.problems[0]?.message).toMatch(/signed by key sha256:[0-9a-f]+, not by the expected key/);
  });

  it('flags a record whose PDF was removed (incomplete)', async () => {
    const [first] = await fileFour();
    await storage.delete([jsonKey(first as DrillEvidence).replace(/json$/, 'pdf')]);
    const result = await verifyReports(storage, PREFIX);
    expect(kinds(result)).toEqual([['incomplete', first?.drillId]]);
  });

  it('is ok for an empty ledger', async () => {
    expect(await verifyReports(storage, PREFIX)).toEqual({ ok: true, records: [], problems: [] });
  });
});
