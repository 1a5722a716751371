import { constants } from 'node:fs';
import { access, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import Handlebars from 'handlebars';
import puppeteer from 'puppeteer-core';
import type { Browser } from 'puppeteer-core';
import { PACKAGE_ROOT } from '../config/index.ts';
import { ReportError } from '../errors/index.ts';
import { makeDirectory } from '../storage/index.ts';
import { hashEvidence, parseEvidence, serializeEvidence, signatureSidecar, type DrillEvidence, type DrillEvidenceInput } from '../evidence/index.ts';
import { escapeHtml } from './text.ts';
import { buildView } from './view.ts';
import type { SignatureInfo } from './view.ts';

// Evidence → {outDir}/{YYYY-MM}/{drillId}.json (+ .json.sig), .html, .pdf. The JSON is written
// first and is exactly the bytes that are hashed and signed; HTML and PDF are rendered from it.

/** pgdrill's own templates/ folder (in the repository and in the installed package). */
export const DEFAULT_TEMPLATES_DIR = join(PACKAGE_ROOT, 'templates');
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a locked-down, offline, throw-away Chromium. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--headless',
] as const;

export interface RenderOptions {
  /** Root folder; files go to `{outDir}/{YYYY-MM}/{drillId}.*`. */
  outDir: string;
  /** Folder with report.hbs, report.css and partials/*.hbs; default: the repository's templates/. */
  templatesDir?: string;
  /** Chromium binary; default: $PUPPETEER_EXECUTABLE_PATH, then /usr/bin/chromium. */
  chromiumPath?: string;
  /** PNG, JPEG, SVG or WebP shown on page 1 (inlined as a data: URI). */
  logoPath?: string;
  /** Ed25519 private key (PEM, or base64 PKCS#8 DER); when set, `{drillId}.json.sig` is written. */
  signingKey?: string;
  /** Limit for launching Chromium and printing, each. Default 60 s. */
  timeoutMs?: number;
}

export interface RenderResult {
  jsonPath: string;
  htmlPath: string;
  pdfPath: string;
  /** SHA-256 of the JSON file's bytes. */
  evidenceSha256: string;
  signaturePath?: string;
  /** Pages in the PDF. */
  pages: number;
  /** Requests the page tried to make and the renderer blocked (always empty with the shipped templates). */
  blockedRequests: string[];
  durationMs: number;
}

export interface HtmlOptions {
  templatesDir?: string;
  logoPath?: string;
  /** SHA-256 of the evidence file, printed in "Integrity of the record". */
  evidenceSha256: string;
  signature?: SignatureInfo | null;
}

/** Renders evidence, writes JSON, HTML and PDF (and the signature), and returns their paths. */
export async function renderReport(evidence: DrillEvidenceInput | DrillEvidence, options: RenderOptions): Promise<RenderResult> {
  const parsed = parseEvidence(evidence);
  return renderParsed(parsed, serializeEvidence(parsed), options);
}

/**
 * Re-renders HTML and PDF from a filed evidence JSON (`pgdrill report --from evidence.json`).
 * The JSON is copied byte for byte, so its hash, the ledger and any signature stay valid.
 */
export async function rerenderReport(evidencePath: string, options: RenderOptions): Promise<RenderResult> {
  const bytes = await readFile(evidencePath).catch((error: unknown) => {
    throw new ReportError(`cannot read evidence file ${evidencePath}: ${(error as Error).message}`, {
      hint: 'Pass the path of a drill evidence JSON (reports/YYYY-MM/drill-….json)',
      cause: error,
    });
  });
  const parsed = parseEvidence(bytes, evidencePath);
  return renderParsed(parsed, bytes, options);
}

/** The self-contained HTML page (CSS, charts and logo inlined). */
export async function renderReportHtml(evidence: DrillEvidence, options: HtmlOptions): Promise<string> {
  const templatesDir = options.templatesDir ?? DEFAULT_TEMPLATES_DIR;
  const hbs = Handlebars.create();
  const read = async (file: string): Promise<string> =>
    readFile(join(templatesDir, file), 'utf8').catch((error: unknown) => {
      throw new ReportError(`report template ${join(templatesDir, file)} cannot be read: ${(error as Error).message}`, {
        hint: 'Point templatesDir at a folder holding report.hbs, report.css and partials/',
        cause: error,
      });
    });
  const [layout, css] = await Promise.all([read('report.hbs'), read('report.css')]);
  const partialFiles = await readdir(join(templatesDir, 'partials')).catch(() => [] as string[]);
  for (const file of partialFiles.filter((f) => f.endsWith('.hbs')).sort()) {
    hbs.registerPartial(file.slice(0, -'.hbs'.length), await read(join('partials', file)));
  }
  const view = buildView(evidence, {
    css,
    evidenceSha256: options.evidenceSha256,
    evidenceFileName: `${evidence.drillId}.json`,
    signature: options.signature ?? null,
    logoDataUri: options.logoPath ? await logoDataUri(options.logoPath) : null,
  });
  try {
    return hbs.compile(layout, { strict: true })(view);
  } catch (error) {
    throw new ReportError(`report template failed to render: ${(error as Error).message}`, {
      hint: `Check the templates in ${templatesDir} against the view built in src/report/view.ts`,
      cause: error,
    });
  }
}

async function renderParsed(evidence: DrillEvidence, bytes: Buffer, options: RenderOptions): Promise<RenderResult> {
  const started = performance.now();
  const dir = join(options.outDir, evidence.startedAt.slice(0, 7));
  await makeDirectory(dir);
  const base = join(dir, evidence.drillId);
  const jsonPath = `${base}.json`;
  const htmlPath = `${base}.html`;
  const pdfPath = `${base}.pdf`;
  const evidenceSha256 = hashEvidence(bytes);

  // Sign before rendering so a bad key fails fast and the PDF can state the key fingerprint.
  const sidecar = options.signingKey ? signatureSidecar(bytes, options.signingKey) : null;
  const signaturePath = sidecar ? `${jsonPath}.sig` : undefined;
  const signature: SignatureInfo | null = sidecar ? { algorithm: 'ed25519', publicKeyFingerprint: sidecar.publicKeyFingerprint } : null;

  const html = await renderReportHtml(evidence, { templatesDir: options.templatesDir, logoPath: options.logoPath, evidenceSha256, signature });
  const { pdf, blockedRequests } = await printPdf(html, {
    chromiumPath: options.chromiumPath,
    timeoutMs: options.timeoutMs ?? 60_000,
    headerTemplate: headerTemplate(evidence),
    footerTemplate: footerTemplate(evidenceSha256),
  });

  await writeAtomic(jsonPath, bytes);
  if (signaturePath && sidecar) await writeAtomic(signaturePath, `${JSON.stringify(sidecar, null, 2)}\n`);
  await writeAtomic(htmlPath, html);
  await writeAtomic(pdfPath, pdf);

  return {
    jsonPath,
    htmlPath,
    pdfPath,
    evidenceSha256,
    ...(signaturePath ? { signaturePath } : {}),
    pages: countPdfPages(pdf),
    blockedRequests,
    durationMs: Math.round(performance.now() - started),
  };
}

async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, data);
  await rename(temp, path);
}

const LOGO_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.webp': 'image/webp',
};

async function logoDataUri(path: string): Promise<string> {
  const type = LOGO_TYPES[extname(path).toLowerCase()];
  if (!type) {
    throw new ReportError(`logo ${path} is not a PNG, JPEG, SVG or WebP file`, { hint: 'Set report.logo to a .png, .jpg, .svg or .webp file' });
  }
  const data = await readFile(path).catch((error: unknown) => {
    throw new ReportError(`logo ${path} cannot be read: ${(error as Error).message}`, { hint: 'Fix report.logo or remove it', cause: error });
  });
  if (data.length > 2_000_000) {
    throw new ReportError(`logo ${path} is ${data.length} bytes`, { hint: 'Use a logo under 2 MB; it is embedded in every report' });
  }
  return `data:${type};base64,${data.toString('base64')}`;
}

const CHROME_STYLE = `font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;font-size:7pt;color:#6b7280;width:100%;margin:0 14mm;display:flex;justify-content:space-between;-webkit-print-color-adjust:exact;`;

function headerTemplate(e: DrillEvidence): string {
  return `<div style="${CHROME_STYLE}border-bottom:0.5pt solid #d9dee5;padding-bottom:2pt;"><span>${escapeHtml(e.organisation)} · ${escapeHtml(e.system)} · Restore drill report</span><span>${escapeHtml(e.drillId)}</span></div>`;
}

function footerTemplate(evidenceSha256: string): string {
  return `<div style="${CHROME_STYLE}"><span>Evidence SHA-256 ${evidenceSha256.slice(0, 16)}… (full hash in section 7)</span><span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>`;
}

interface PrintOptions {
  chromiumPath?: string | undefined;
  timeoutMs: number;
  headerTemplate: string;
  footerTemplate: string;
}

/** Resolves the Chromium binary: option, then $PUPPETEER_EXECUTABLE_PATH, then /usr/bin/chromium. */
export async function resolveChromium(chromiumPath?: string): Promise<string> {
  const path = chromiumPath ?? process.env.PUPPETEER_EXECUTABLE_PATH ?? DEFAULT_CHROMIUM_PATH;
  try {
    await access(path, constants.X_OK);
  } catch (error) {
    throw new ReportError(`Chromium not found or not executable at ${path}`, {
      hint: 'install chromium or set PUPPETEER_EXECUTABLE_PATH (or report.chromiumPath) to its binary; pgdrill never downloads a browser',
      cause: error,
    });
  }
  return path;
}

async function printPdf(html: string, options: PrintOptions): Promise<{ pdf: Uint8Array; blockedRequests: string[] }> {
  const executablePath = await resolveChromium(options.chromiumPath);
  const userDataDir = await mkdtemp(join(tmpdir(), 'pgdrill-chromium-'));
  let browser: Browser | undefined;
  const blockedRequests: string[] = [];
  try {
    try {
      browser = await puppeteer.launch({
        executablePath,
        headless: true,
        userDataDir,
        args: [...CHROMIUM_ARGS],
        pipe: true,
        timeout: options.timeoutMs,
      });
    } catch (error) {
      throw new ReportError(`Chromium at ${executablePath} did not start: ${(error as Error).message}`, {
        hint: 'Check that the binary runs (`chromium --headless --version`), or set PUPPETEER_EXECUTABLE_PATH to a working Chromium',
        cause: error,
      });
    }
    const page = await browser.newPage();
    page.setDefaultTimeout(options.timeoutMs);
    await page.setJavaScriptEnabled(false);
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      const url = request.url();
      if (url.startsWith('data:') || url === 'about:blank') {
        void request.continue();
      } else {
        blockedRequests.push(url);
        void request.abort('blockedbyclient');
      }
    });
    await page.setContent(html, { waitUntil: 'load', timeout: options.timeoutMs });
    const pdf = await page.pdf({
      format: 'A4',
      printBackground: true,
      displayHeaderFooter: true,
      headerTemplate: options.headerTemplate,
      footerTemplate: options.footerTemplate,
      margin: { top: '17mm', bottom: '15mm', left: '14mm', right: '14mm' },
      timeout: options.timeoutMs,
    });
    return { pdf, blockedRequests };
  } catch (error) {
    if (error instanceof ReportError) throw error;
    throw new ReportError(`printing the report to PDF failed: ${(error as Error).message}`, {
      hint: 'Re-run with the same evidence (`pgdrill report --from …`); if it persists, check Chromium and the templates',
      cause: error,
    });
  } finally {
    await browser?.close().catch(() => undefined);
    await rm(userDataDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Page count of a Chromium-printed PDF (one `/Type /Page` object per page). */
export function countPdfPages(pdf: Uint8Array): number {
  const text = Buffer.from(pdf.buffer, pdf.byteOffset, pdf.byteLength).toString('latin1');
  return (text.match(/\/Type\s*\/Page(?![a-zA-Z])/g) ?? []).length;
}
