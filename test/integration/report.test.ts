import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ReportError } from '../../src/errors/index.ts';
import { parseEvidence } from '../../src/evidence/schema.ts';
import type { DrillEvidenceInput } from '../../src/evidence/schema.ts';
import { generateSigningKey, hashEvidence, verifyEvidenceSignature } from '../../src/evidence/ledger.ts';
import { renderReport, rerenderReport } from '../../src/report/render.ts';
import type { RenderResult } from '../../src/report/render.ts';
import { newKeyring, REPO_ROOT } from '../helpers/pgdrill.ts';

// Renders the fixtures with the system Chromium and reads the PDFs back with poppler
// (pdftotext, pdfinfo), as an auditor's tools would.

const passJson = await readFile(new URL('../fixtures/evidence-pass.json', import.meta.url), 'utf8');
const failJson = await readFile(new URL('../fixtures/evidence-fail.json', import.meta.url), 'utf8');
const keys = generateSigningKey();
const LOGO = `<svg xmlns="http://www.w3.org/2000/svg" width="160" height="48"><rect width="160" height="48" rx="6" fill="#12355b"/><text x="80" y="31" font-size="18" fill="#fff" text-anchor="middle" font-family="sans-serif">ESLR</text></svg>`;

let dir: string;
let pass: RenderResult;
let fail: RenderResult;
let many: RenderResult;

/** The passing fixture with 40 tables instead of 17 (a larger schema). */
function withFortyTables(): DrillEvidenceInput {
  const e = JSON.parse(passJson) as DrillEvidenceInput;
  const extra = Array.from({ length: 40 - e.tables.length }, (_, i) => {
    const rows = 1_000 + i * 7_919;
    return { schema: 'public', name: `ledger_partition_${String(i + 1).padStart(2, '0')}`, expected: rows, actual: rows };
  });
  return { ...e, tables: [...e.tables, ...extra] };
}

async function pdfText(path: string, layout = true): Promise<string> {
  const { stdout } = await execa('pdftotext', [...(layout ? ['-layout'] : []), path, '-']);
  return stdout;
}

async function pdfPages(path: string): Promise<number> {
  const { stdout } = await execa('pdfinfo', [path]);
  return Number(/^Pages:\s+(\d+)/m.exec(stdout)?.[1]);
}

/** Text without layout, whitespace collapsed: for phrases that may wrap. */
async function prose(path: string): Promise<string> {
  return (await pdfText(path, false)).replace(/\s+/g, ' ');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgdrill-report-'));
  const logoPath = join(dir, 'logo.svg');
  await writeFile(logoPath, LOGO);
  const t0 = performance.now();
  pass = await renderReport(JSON.parse(passJson), { outDir: join(dir, 'reports'), signingKey: keys.privateKeyPem, logoPath });
  const t1 = performance.now();
  fail = await renderReport(JSON.parse(failJson), { outDir: join(dir, 'reports-fail') });
  console.log(`[report] rendered passing drill in ${Math.round(t1 - t0)} ms, failing drill in ${Math.round(performance.now() - t1)} ms`);
  many = await renderReport(withFortyTables(), { outDir: join(dir, 'reports-40'), signingKey: keys.privateKeyPem });
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('passing drill report', () => {
  it('writes JSON, signature, HTML and PDF under {outDir}/{YYYY-MM}/{drillId}', () => {
    const base = join(dir, 'reports', '2026-11', 'drill-20261123T010000Z-oslrs');
    expect(pass).toMatchObject({ jsonPath: `${base}.json`, htmlPath: `${base}.html`, pdfPath: `${base}.pdf`, signaturePath: `${base}.json.sig` });
    expect(pass.blockedRequests).toEqual([]);
  });

  it('hashes and signs exactly the JSON file bytes', async () => {
    const bytes = await readFile(pass.jsonPath);
    expect(hashEvidence(bytes)).toBe(pass.evidenceSha256);
    expect(parseEvidence(bytes).drillId).toBe('drill-20261123T010000Z-oslrs');
    const sidecar = JSON.parse(await readFile(pass.signaturePath as string, 'utf8')) as { algorithm: string; signature: string };
    expect(sidecar.algorithm).toBe('ed25519');
    expect(verifyEvidenceSignature(bytes, sidecar.signature, keys.publicKeyPem)).toBe(true);
  });

  it('renders a realistic drill: 10 built-in checks and 1 custom, one warning, 17 tables, signed, older backup tested', () => {
    const e = parseEvidence(passJson);
    expect(e.checks.filter((c) => c.builtIn)).toHaveLength(10);
    expect(e.checks.filter((c) => !c.builtIn)).toHaveLength(1);
    expect(e.checks.filter((c) => c.status === 'warn')).toHaveLength(1);
    expect(e.tables).toHaveLength(17);
    expect(e.olderBackup?.status).toBe('pass');
    expect(e.retention.monthly.some((m) => m.state === 'not-due')).toBe(true);
  });

  it('fits in one to four A4 pages', async () => {
    const pages = await pdfPages(pass.pdfPath);
    expect(pages).toBeGreaterThanOrEqual(1);
    expect(pages).toBeLessThanOrEqual(4);
    expect(pass.pages).toBe(pages);
    const { stdout } = await execa('pdfinfo', [pass.pdfPath]);
    expect(stdout).toMatch(/Page size:\s+595\.\d* x 841\.\d* pts \(A4\)/);
  });

  it('puts the verdict, RTO/RPO against targets and the next drill on page 1', async () => {
    const page1 = (await execa('pdftotext', ['-layout', '-f', '1', '-l', '1', pass.pdfPath, '-'])).stdout;
    expect(page1).toMatch(/\bPASS\b/);
    expect(page1).toContain('Last night');
    expect(page1).toMatch(/RECOVERY TIME \(RTO\)[\s\S]*20.5 min/);
    expect(page1).toContain('target 30 min');
    expect(page1).toContain('1.8 h');
    expect(page1).toContain('target 24 h');
    expect(page1).toContain('Reconciled');
    const page1Prose = (await execa('pdftotext', ['-f', '1', '-l', '1', pass.pdfPath, '-'])).stdout.replace(/\s+/g, ' ');
    expect(page1Prose).toContain('NEXT DRILL DUE');
    expect(page1Prose).toContain('23 Dec 2026');
    expect(page1).toContain('RTO target 30 min');
    expect(page1).toContain('23 Nov 2026, 02:00 WAT');
    expect(page1).toContain('2026-11-23 01:00:00 UTC');
  });

  it('prints every section with the drill details', async () => {
    const text = await prose(pass.pdfPath);
    for (const heading of ['How the drill ran', 'Checklist', 'Table reconciliation', 'Retention inventory', 'Control mapping', 'Sign-off', 'Integrity of the record']) {
      expect(text).toContain(heading);
    }
    // After page 1 (which mentions some of them in its summary), the sections come in this order.
    const body = (await execa('pdftotext', ['-f', '2', pass.pdfPath, '-'])).stdout.replace(/\s+/g, ' ');
    // Each heading is searched after the previous one: check titles may repeat words (e.g. "Retention inventory complete").
    let at = 0;
    for (const heading of ['How the drill ran', 'Checklist', 'Table reconciliation', 'Retention inventory', 'Control mapping', 'Sign-off', 'Integrity of the record']) {
      const next = body.indexOf(heading, at);
      expect(next, heading).toBeGreaterThanOrEqual(0);
      at = next + heading.length;
    }
    expect(text).toContain('Nothing was restored over production.');
    expect(text).toContain('postgres:16.4-bookworm');
    expect(text).toContain('ci: drills/monthly #412');
    expect(text).toContain('backups/daily/2026-11-23-oslrs_prod.dump.zst.enc');
    expect(text).toContain('k-2026-01');
    expect(text).toContain('2025-05-oslrs_prod');
    for (const check of [
      'Backup integrity: stored and plaintext SHA', // the title may wrap at "SHA-"
      'Record counts: every table matches the dump',
      'Audit log hash chain verifies end to end',
      'Roles, memberships and privileges restored; accounts authenticate',
      'An older backup still restores with today',
      'Transactions up to backup time',
    ]) {
      expect(text).toContain(check);
    }
    expect(text).toContain('Custom');
    expect(text).toContain('kept in the evidence JSON');
    expect(text).toMatch(/public\.transaction_\s?parties/); // may wrap after '_'
    expect(text).toMatch(/public\.certificate_of_\s?occupancy_\s?applications/);
    expect(text).toContain('3,602,118');
    expect(text).toContain("7 years is the registry's own policy; the NDPA sets no fixed retention period.");
    for (const control of ['NDPA 2023 s.39(2)(c)', 'NDPA 2023 s.39(2)(d)', 'NDPA 2023 s.39(2)(f)', 'NDPA 2023 s.39(2)(g)', 'ISO/IEC 27001:2022 A.8.13', 'NDPA 2023 s.40']) {
      expect(text).toContain(control);
    }
    for (const role of ['Performed by', 'Verified by (independent verifier)', 'System owner', 'DPO acknowledgement']) expect(text).toContain(role);
    expect(text).toContain(pass.evidenceSha256);
    expect(text).toContain(parseEvidence(passJson).backup!.sha256);
    expect(text).toContain('SIGNED');
    expect(text).toContain('drill-20261023T010000Z-oslrs');
  });

  it('lists the warning as one line, without the corrective-action form a failure gets', async () => {
    const text = await prose(pass.pdfPath);
    expect(text).toContain('Findings WARN 11. Transactions up to backup time: Newest transaction at 2026-11-22T20:45:00Z');
    expect(text).toContain('only a failed check needs a corrective action');
    expect(text).not.toContain('Corrective action');
    expect(text).not.toContain('Findings and corrective actions');
    const page1 = (await execa('pdftotext', ['-layout', '-f', '1', '-l', '1', pass.pdfPath, '-'])).stdout;
    expect(page1).toMatch(/WARN\s+Transactions up to backup time\s+no action required/);
  });

  it('carries organisation, system and drill id in the header and "Page X of Y" in the footer of every page', async () => {
    const pages = await pdfPages(pass.pdfPath);
    const text = await pdfText(pass.pdfPath);
    expect(text.match(/Example State Land Registry · OSLRS \(Online State Land Registry System\)/g)?.length).toBeGreaterThanOrEqual(pages);
    expect(text.match(/drill-20261123T010000Z-oslrs/g)?.length).toBeGreaterThanOrEqual(pages);
    for (let p = 1; p <= pages; p += 1) expect(text).toContain(`Page ${p} of ${pages}`);
  });

  it('inlines the logo and loads nothing from the network', async () => {
    const html = await readFile(pass.htmlPath, 'utf8');
    expect(html).toContain('src="data:image/svg+xml;base64,');
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*["']?(https?:)?\/\//i);
  });

  it('re-renders from the filed JSON without changing its bytes or hash', async () => {
    const again = await rerenderReport(pass.jsonPath, { outDir: join(dir, 'rerendered') });
    expect(again.evidenceSha256).toBe(pass.evidenceSha256);
    expect((await readFile(again.jsonPath)).equals(await readFile(pass.jsonPath))).toBe(true);
    expect(await prose(again.pdfPath)).toContain(pass.evidenceSha256);
  });
});

describe('failing drill report', () => {
  it('shows FAIL, the over-target RTO and the failed-check count on page 1', async () => {
    const page1 = (await execa('pdftotext', ['-layout', '-f', '1', '-l', '1', fail.pdfPath, '-'])).stdout;
    expect(page1).toMatch(/\bFAIL\b/);
    expect(page1).toContain('41.1 min');
    expect(page1).toContain('Over');
    expect(page1).toContain('Not');
    expect(page1).toMatch(/FAILED CHECKS\s[\s\S]*3\s+of 10/);
    expect(page1).toContain('Needs attention');
    expect(page1).toContain('Platform team (T. Adeyemi)');
  });

  it('prints failure detail, differences, corrective-action fields and the breach line', async () => {
    const text = await prose(fail.pdfPath);
    expect(text).toContain('relation "public.sessions" does not exist');
    expect(text).toContain('3 of 25 tables differ');
    expect(await pdfText(fail.pdfPath)).toMatch(/public\.sessions\s+0\s+—\s+missing/);
    expect(text).toContain('−32');
    // One corrective-action form per failed check (3); the warning is a single line.
    expect(text.match(/Corrective action/g)).toHaveLength(3);
    expect(text).toContain('9. Transactions up to backup time: Newest transaction at 2026-11-22T20:05:00Z');
    expect(text).toContain('5 Dec 2026');
    expect(text).toContain('Assess now.');
    expect(text).toContain('72 hours');
    expect(text).toContain('NOT SIGNED');
    expect(text).toContain('GAPS');
  });

  it('prints no personal data from the restored database', async () => {
    const text = await prose(fail.pdfPath);
    for (const leak of ['chinedu.leak@example.ng', '08031234567', 'ada.obi@example.com', '803 123 4567', '12345678901']) {
      expect(text).not.toContain(leak);
    }
    expect(text).toContain('[redacted email]');
  });
});

describe('passing drill with 40 tables', () => {
  it('stays within five pages and lists every table', async () => {
    const pages = await pdfPages(many.pdfPath);
    expect(pages).toBeLessThanOrEqual(5);
    expect(many.pages).toBe(pages);
    const text = await prose(many.pdfPath);
    expect(text).toContain('All 40 tables match');
    for (const n of ['01', '23']) expect(text).toMatch(new RegExp(`public\\.ledger_\\s?partition_\\s?${n}`));
    expect(text).toContain('Integrity of the record');
    expect(await readFile(many.htmlPath, 'utf8')).toContain('table-columns cols-2 compact');
  });
});

describe('renderer guards', () => {
  it('names the fix when Chromium is missing', async () => {
    const attempt = renderReport(JSON.parse(passJson), { outDir: join(dir, 'no-chromium'), chromiumPath: join(dir, 'no-such-chromium') });
    await expect(attempt).rejects.toBeInstanceOf(ReportError);
    await expect(attempt).rejects.toThrow(/install chromium or set PUPPETEER_EXECUTABLE_PATH/);
  });

  it('blocks and reports any non-data: request a template makes', async () => {
    const templatesDir = join(dir, 'evil-templates');
    await mkdir(templatesDir, { recursive: true });
    await writeFile(join(templatesDir, 'report.hbs'), '<html><body><img src="http://127.0.0.1:9/pixel.png">{{drillId}}</body></html>');
    await writeFile(join(templatesDir, 'report.css'), '');
    const result = await renderReport(JSON.parse(passJson), { outDir: join(dir, 'evil'), templatesDir });
    expect(result.blockedRequests).toEqual(['http://127.0.0.1:9/pixel.png']);
  });
});

/** Pids of live processes whose parent is `parent`, with their command names. */
async function childrenOf(parent: number): Promise<Array<{ pid: number; comm: string }>> {
  const found: Array<{ pid: number; comm: string }> = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid …; comm may hold spaces and parentheses, so split at the last ')'.
    const close = stat.lastIndexOf(')');
    if (close < 0) continue;
    const ppid = Number(stat.slice(close + 2).split(' ')[1]);
    if (ppid === parent) found.push({ pid: Number(entry), comm: stat.slice(stat.indexOf('(') + 1, close) });
  }
  return found;
}

describe('interrupted rendering (issue 11 item 10)', () => {
  // Chromium's singleton socket ($TMPDIR/org.chromium.Chromium.XXXXXX/SingletonSocket) must fit in
  // 107 bytes. With a TMPDIR of up to 38 characters Chromium gets its own TMPDIR inside its profile
  // folder, and SIGINT may come at any moment: here as soon as the Chromium process exists. With a
  // longer TMPDIR Chromium keeps it, and the cleanup removes the socket folder the profile's
  // SingletonSocket link names, so that case waits for the link (made a moment after the folder).
  it.for([
    ['a short TMPDIR', '', null],
    ['a long TMPDIR', `/${'long'.repeat(8)}`, /^pgdrill-chromium-\w+\/SingletonSocket$/],
  ] as const)('SIGINT while Chromium starts or renders exits 130 and leaves nothing in %s; Chromium never sees pgdrill\'s secrets', async ([, suffix, waitFor]) => {
    const base = await mkdtemp(join(tmpdir(), 'pgd-')); // `/tmp/pgd-XXXXXX`: 15 characters
    onTestFinished(() => rm(base, { recursive: true, force: true }));
    const scratch = base + suffix;
    await mkdir(scratch, { recursive: true });
    const secretKeys = newKeyring('leak-check');
    const child = execa('node', [join(REPO_ROOT, 'bin/pgdrill.js'), 'report', '--from', join(REPO_ROOT, 'test/fixtures/evidence-pass.json'), '--out', join(dir, 'interrupted')], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: scratch, PGDRILL_ENCRYPTION_KEYS: secretKeys, S3_SECRET_KEY: 'never-for-chromium' },
      extendEnv: false,
      reject: false,
      timeout: 120_000,
    });
    let chromium: { pid: number; comm: string } | undefined;
    for (let waited = 0; !chromium && waited < 60_000; waited += 20) {
      chromium = (await childrenOf(child.pid!)).find((p) => /chrom/i.test(p.comm));
      if (!chromium) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(chromium, 'Chromium never started').toBeDefined();
    // Read mid-exec (Debian's /usr/bin/chromium is a script that execs the binary), environ can be
    // empty for an instant: read until it holds the PATH every child gets.
    let environ: string[] = [];
    for (let waited = 0; !environ.some((v) => v.startsWith('PATH=')) && waited < 5_000; waited += 10) {
      environ = (await readFile(`/proc/${chromium!.pid}/environ`, 'utf8').catch(() => '')).split('\0');
      if (!environ.some((v) => v.startsWith('PATH='))) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (let waited = 0; waitFor && waited < 10_000 && !(await readdir(scratch, { recursive: true })).some((f) => waitFor.test(f)); waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill('SIGINT');
    const result = await child;

    expect(result.exitCode, String(result.stderr)).toBe(130);
    expect(result.stderr).toMatch(/SIGINT received, stopping 1 Chromium profile\(s\)/);
    expect(await readdir(scratch)).toEqual([]);
    expect(environ.filter((v) => /^(PGDRILL_ENCRYPTION_KEYS|S3_SECRET_KEY)=/.test(v))).toEqual([]);
    expect(environ.join('\n')).not.toContain(secretKeys);
    expect(environ.find((v) => v.startsWith('TMPDIR='))).toMatch(suffix ? `TMPDIR=${scratch}` : new RegExp(`^TMPDIR=${scratch}/pgdrill-chromium-\\w+$`));
  });
});
