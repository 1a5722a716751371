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
  appendToLedger,
  FORK_WINDOW_MS,
  generateSigningKey,
  hashEvidence,
  historyWith,
  ledgerLockKey,
  nextLedger,
  publicKeyFingerprint,
  publishReport,
  readDrillHistory,
  signatureSidecar,
  signEvidence,
  verifyEvidenceSignature,
  verifyReports,
} from '../../src/evidence/ledger.ts';
import type { RecordProblemKind, ReportPaths } from '../../src/evidence/ledger.ts';
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

interface DrillOptions {
  sign?: boolean;
  verdict?: 'PASS' | 'FAIL';
  /** Default: 25 minutes after the start. */
  finishedAt?: string;
}

/** A drill's evidence on top of `records` (chained to the newest), as the drill engine makes it. */
function evidenceFor(startedAt: string, records: Awaited<ReturnType<typeof readDrillHistory>>, options: DrillOptions = {}): DrillEvidence {
  const drillId = `drill-${startedAt.replace(/[-:]|\.\d+/g, '')}-test`;
  const rtoMs = 1_000_000 + records.length * 60_000;
  return parseEvidence({
    ...template,
    drillId,
    startedAt,
    finishedAt: options.finishedAt ?? new Date(Date.parse(startedAt) + 1_500_000).toISOString(),
    verdict: options.verdict ?? 'PASS',
    checks: options.verdict === 'FAIL' ? template.checks.map((c, i) => (i === 0 ? { ...c, status: 'fail' as const } : c)) : template.checks,
    timings: { ...template.timings, rtoMs },
    ledger: nextLedger(records),
    history: historyWith(records, { drillId, startedAt, verdict: options.verdict ?? 'PASS', rtoMs }),
  });
}

/** Writes the evidence (stub HTML/PDF: rendering is the integration test's job) and its signature locally. */
async function writeReport(evidence: DrillEvidence, sign = true): Promise<ReportPaths> {
  const bytes = serializeEvidence(evidence);
  const base = join(dir, evidence.drillId);
  await writeFile(`${base}.json`, bytes);
  await writeFile(`${base}.html`, '<!DOCTYPE html><title>stub</title>');
  await writeFile(`${base}.pdf`, '%PDF-1.4 stub');
  if (!sign) return { jsonPath: `${base}.json`, htmlPath: `${base}.html`, pdfPath: `${base}.pdf` };
  await writeFile(`${base}.json.sig`, JSON.stringify(signatureSidecar(bytes, keys.privateKeyPem)));
  return { jsonPath: `${base}.json`, htmlPath: `${base}.html`, pdfPath: `${base}.pdf`, signaturePath: `${base}.json.sig` };
}

/**
 * Files one drill the way a drill did before appends were serialised: read the history from
 * storage, chain to the newest record, write and sign the evidence, publish. Returns the
 * evidence as filed.
 */
async function fileDrill(startedAt: string, options: DrillOptions = {}): Promise<DrillEvidence> {
  const evidence = evidenceFor(startedAt, await readDrillHistory(storage, PREFIX), options);
  await publishReport(storage, PREFIX, await writeReport(evidence, options.sign ?? true), evidence);
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
      new RegExp(`names ${filed[3]?.drillId} \\(finished 2026-11-23T01:25:00.000Z\\) as the previous drill, but a record is made only after the previous one was filed: it was back-dated`),
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

// Issue 11 item 6: concurrent drills used to chain to the same predecessor (a fork), which
// verify-reports reported as REORDERED for good.
describe('forks from concurrent drills', () => {
  /** Two drills that each saw the same stored history and filed on top of it: a fork built by hand. */
  async function fileFork(startedAt: [string, string], finishedAt: [string, string]): Promise<[DrillEvidence, DrillEvidence]> {
    const seen = await readDrillHistory(storage, PREFIX);
    const pair = [0, 1].map((i) => evidenceFor(startedAt[i]!, seen, { finishedAt: finishedAt[i] })) as [DrillEvidence, DrillEvidence];
    for (const evidence of pair) await publishReport(storage, PREFIX, await writeReport(evidence), evidence);
    return pair;
  }

  it('two records on one predecessor, made seconds apart, are a fork: reported, records intact, verification passes', async () => {
    const [, , , november] = await fileFour();
    const [a, b] = await fileFork(['2026-12-23T01:00:00.000Z', '2026-12-23T01:00:01.000Z'], ['2026-12-23T01:25:00.000Z', '2026-12-23T01:25:03.000Z']);
    const after = await fileDrill('2027-01-23T01:00:00.000Z'); // later drills chain on as usual
    const result = await verifyReports(storage, PREFIX, { publicKey: keys.publicKeyPem });
    expect(kinds(result)).toEqual([['forked', b.drillId]]);
    expect(result.problems[0]?.message).toBe(
      `${a.drillId} and ${b.drillId} both name ${november!.drillId} as the previous drill, with its correct hash: the two drills ran at the same time (their records were made 3 s apart) and each chained to the newest record it saw. Both records are in storage and checked like every other; nothing is missing or altered. Reported, not a failure: a fork cannot be undone without rewriting signed records, and drills now file one at a time`,
    );
    expect(result.ok).toBe(true);
    expect(result.records.map((r) => [r.drillId, r.status, r.signature])).toEqual([
      ...(await readDrillHistory(storage, PREFIX)).slice(0, 4).map((r) => [r.evidence.drillId, 'ok', 'valid']),
      [a.drillId, 'ok', 'valid'],
      [b.drillId, 'forked', 'valid'],
      [after.drillId, 'ok', 'valid'],
    ]);
    expect(after.ledger.previousDrillId).toBe(b.drillId); // the newest by filing order
  });

  it('two records that both start the ledger a second apart (the reported case) are a fork, not a restarted chain', async () => {
    const [a, b] = await fileFork(['2026-12-07T09:11:10.000Z', '2026-12-07T09:11:11.000Z'], ['2026-12-07T09:11:40.000Z', '2026-12-07T09:11:41.000Z']);
    const result = await verifyReports(storage, PREFIX);
    expect(kinds(result)).toEqual([['forked', b.drillId]]);
    expect(result.problems[0]?.message).toMatch(new RegExp(`^${a.drillId} and ${b.drillId} both start the ledger \\(no previous drill\\): the two drills ran at the same time`));
    expect(result.ok).toBe(true);
  });

  it('records on one predecessor made further apart than drills at the same time could be are an insertion: reordered, verification fails', async () => {
    const [, , , november] = await fileFour();
    const later = new Date(Date.parse('2026-12-23T01:25:00.000Z') + FORK_WINDOW_MS + 60_000).toISOString();
    const [a, b] = await fileFork(['2026-12-23T01:00:00.000Z', '2026-12-23T01:10:00.000Z'], ['2026-12-23T01:25:00.000Z', later]);
    const result = await verifyReports(storage, PREFIX);
    expect(kinds(result)).toEqual([['reordered', b.drillId]]);
    expect(result.problems[0]?.message).toBe(
      `${b.drillId} and ${a.drillId} both name ${november!.drillId} as the previous drill, with its correct hash, but their records were made 11 min apart, too far apart for drills running at the same time: a record was inserted into the chain`,
    );
    expect(result.ok).toBe(false);
  });
});

describe('appendToLedger', () => {
  const fast = { ttlMs: 2_000, pollMs: 20, settleMs: 30 };
  /** A clock for finishedAt that only moves forward, one second per record made (no dependence on today's date). */
  let clock = Date.parse('2026-12-07T13:00:00.000Z');
  const madeAt = () => new Date((clock += 1_000)).toISOString();

  /** Appends one drill the way the drill reporter does, with short lock timings. */
  function append(startedAt: string, options: { log?: (line: string) => void; beforeReturn?: () => Promise<void> } = {}) {
    return appendToLedger(storage, PREFIX, { owner: `drill-${startedAt}`, timing: fast, log: options.log }, async (history) => {
      // Stamped under the lock, like the reporter's finishedAt.
      const evidence = evidenceFor(startedAt, history, { finishedAt: madeAt() });
      const paths = await writeReport(evidence);
      await options.beforeReturn?.();
      return { paths, evidence };
    });
  }

  it('lets concurrent drills file one at a time, each chained to the one before, and leaves no lock behind', async () => {
    const starts = ['2026-12-07T09:00:00.000Z', '2026-12-07T09:00:01.000Z', '2026-12-07T09:00:02.000Z', '2026-12-07T09:00:03.000Z'];
    const filed = await Promise.all(starts.map((startedAt) => append(startedAt)));
    const chain = (await readDrillHistory(storage, PREFIX)).map((r) => r.evidence);
    expect(chain).toHaveLength(4);
    expect(chain[0]?.ledger.previousDrillId).toBeNull();
    for (let i = 1; i < chain.length; i += 1) expect(chain[i]?.ledger.previousDrillId).toBe(chain[i - 1]?.drillId);
    expect(filed.map((f) => f.published.jsonKey).sort()).toEqual(chain.map((e) => jsonKey(e)).sort());
    expect(await verifyReports(storage, PREFIX, { publicKey: keys.publicKeyPem })).toMatchObject({ ok: true, problems: [] });
    expect(await storage.head(ledgerLockKey(PREFIX))).toBeUndefined();
  });

  it('makes the record again when another record was filed while it was being made (the head moved)', async () => {
    const lines: string[] = [];
    let intruder: DrillEvidence | undefined;
    const { entry } = await append('2026-12-07T10:00:00.000Z', {
      log: (line) => lines.push(line),
      // A writer that ignores the lock files a record while this one is being rendered (once).
      beforeReturn: async () => {
        if (intruder) return;
        intruder = evidenceFor('2026-12-07T09:59:00.000Z', await readDrillHistory(storage, PREFIX), { finishedAt: madeAt() });
        await publishReport(storage, PREFIX, await writeReport(intruder), intruder);
      },
    });
    expect(entry.evidence.ledger.previousDrillId).toBe(intruder!.drillId);
    expect(lines).toEqual([`${intruder!.drillId} was filed while drill-2026-12-07T10:00:00.000Z was being made: making it again on top of the new head`]);
    expect(await verifyReports(storage, PREFIX)).toMatchObject({ ok: true, problems: [] });
  });

  it('waits for a lock another drill holds, and takes over one whose owner died (expired)', async () => {
    const lock = ledgerLockKey(PREFIX);
    const lockOf = (owner: string, expiresAt: Date) => Buffer.from(JSON.stringify({ owner: `${owner}#abc`, host: 'elsewhere', pid: 1, expiresAt: expiresAt.toISOString() }));
    await put(lock, lockOf('drill-crashed', new Date(Date.now() - 1_000)));
    await append('2026-12-07T11:00:00.000Z'); // an expired lock does not block
    const lines: string[] = [];
    await put(lock, lockOf('drill-busy', new Date(Date.now() + 400)));
    const started = Date.now();
    await append('2026-12-07T11:01:00.000Z', { log: (line) => lines.push(line) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(lines[0]).toMatch(/^waiting for drill-busy \(elsewhere, pid 1\) to file its record first: it holds backups\/drills\/ledger\.lock until /);
    expect(await verifyReports(storage, PREFIX)).toMatchObject({ ok: true, problems: [] });
  });

  it('never overwrites a record: a second drill with the same id (started in the same second) sees the first and fails', async () => {
    const { published } = await append('2026-12-07T12:00:00.000Z');
    const before = await text(published.jsonKey);
    await expect(append('2026-12-07T12:00:00.000Z')).rejects.toThrow(/a drill cannot be its own predecessor/);
    expect(await text(published.jsonKey)).toBe(before);
    expect(await storage.head(ledgerLockKey(PREFIX))).toBeUndefined();
  });
});
