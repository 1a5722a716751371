import { constants, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { access, mkdtemp, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join } from 'node:path';
import Handlebars from 'handlebars';
import puppeteer from 'puppeteer-core';
import type { Browser } from 'puppeteer-core';
import { PACKAGE_ROOT } from '../config/index.ts';
import { ReportError } from '../errors/index.ts';
import { makeDirectory } from '../storage/index.ts';
import { registerCleanup } from '../lifecycle/index.ts';
import { childEnv } from '../pgtools/index.ts';
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

/**
 * Longest socket path Chromium accepts (sun_path is 108 bytes). Its singleton socket is
 * `$TMPDIR/org.chromium.Chromium.XXXXXX/SingletonSocket`; a longer path is a fatal error.
 */
const MAX_SOCKET_PATH = 107;

/** Environment variables Chromium needs besides childEnv's PATH, HOME, locale, TZ and USER. */
const CHROMIUM_ENV = ['FONTCONFIG_FILE', 'FONTCONFIG_PATH'] as const;

/**
 * The folder Chromium's singleton socket was made in, named by the profile's `SingletonSocket`
 * link: inside the profile unless TMPDIR was too long to move Chromium's temp files there.
 */
function singletonSocketDir(profileDir: string): string | undefined {
  try {
    const dir = dirname(readlinkSync(join(profileDir, 'SingletonSocket')));
    return /^org\.chromium\.Chromium\.\w+$/.test(basename(dir)) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Pids of the Chromium processes using this profile, from /proc: puppeteer hands out the browser
 * process only once it has connected, and a signal may come before that.
 */
function chromiumPids(profileDir: string): number[] {
  const flag = `--user-data-dir=${profileDir}`;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  return entries
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        return readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(flag);
      } catch {
        return false; // exited meanwhile
      }
    })
    .map(Number);
}

/** Whether a process still runs (a zombie has stopped: it writes nothing more). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Kills this profile's Chromium (the browser's process group and any helper started with the
 * profile) and waits, at most a second, until none of them runs, so nothing writes into the
 * profile while it is removed. Synchronous: it also runs from the process `exit` hook.
 */
function killChromium(profileDir: string, browserPid: number | undefined): void {
  const pids = new Set([...(browserPid === undefined ? [] : [browserPid]), ...chromiumPids(profileDir)]);
  for (const pid of pids) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL'); // -pid: the group the browser leads (puppeteer starts it detached)
      } catch {
        // not a group leader, or already gone
      }
    }
  }
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; waited < 1000 && [...pids].some(running); waited += 10) Atomics.wait(pause, 0, 0, 10);
}

function removeProfile(profileDir: string): void {
  const socketDir = singletonSocketDir(profileDir);
  if (socketDir) rmSync(socketDir, { recursive: true, force: true });
  rmSync(profileDir, { recursive: true, force: true });
}

async function printPdf(html: string, options: PrintOptions): Promise<{ pdf: Uint8Array; blockedRequests: string[] }> {
  const executablePath = await resolveChromium(options.chromiumPath);
  // One folder for everything this Chromium writes: its profile and, as its TMPDIR, its temp files
  // (org.chromium.Chromium.*). A signal or exit kills Chromium first (so it writes nothing more),
  // then removes the folder: nothing is left in TMPDIR.
  const profileDir = await mkdtemp(join(tmpdir(), 'pgdrill-chromium-'));
  const ownTmp = join(profileDir, 'org.chromium.Chromium.XXXXXX', 'SingletonSocket').length <= MAX_SOCKET_PATH;
  let browser: Browser | undefined;
  const stopAndRemove = (): void => {
    killChromium(profileDir, browser?.process()?.pid);
    removeProfile(profileDir);
  };
  const unregister = registerCleanup({ kind: 'Chromium profile(s)', label: profileDir, run: async () => stopAndRemove(), runSync: stopAndRemove });
  const fontConfig = Object.fromEntries(CHROMIUM_ENV.filter((name) => process.env[name]).map((name) => [name, process.env[name]!]));
  const blockedRequests: string[] = [];
  try {
    try {
      browser = await puppeteer.launch({
        executablePath,
        headless: true,
        userDataDir: profileDir,
        args: [...CHROMIUM_ARGS],
        pipe: true,
        timeout: options.timeoutMs,
        // Signals are the lifecycle module's: it kills Chromium and removes its folder.
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
        // Allow-listed, like every child: no encryption keys, S3 secrets or database URLs.
        env: childEnv({ ...fontConfig, ...(ownTmp ? { TMPDIR: profileDir } : {}) }),
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
    unregister();
    try {
      removeProfile(profileDir);
    } catch {
      // best effort, as before: the PDF is made; a leftover folder must not fail the report
    }
  }
}

/** Page count of a Chromium-printed PDF (one `/Type /Page` object per page). */
export function countPdfPages(pdf: Uint8Array): number {
  const text = Buffer.from(pdf.buffer, pdf.byteOffset, pdf.byteLength).toString('latin1');
  return (text.match(/\/Type\s*\/Page(?![a-zA-Z])/g) ?? []).length;
}
