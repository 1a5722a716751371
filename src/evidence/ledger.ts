import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { drillReportKey, drillsPrefix } from '../catalog/index.ts';
import { ReportError, StorageError } from '../errors/index.ts';
import { registerCleanup } from '../lifecycle/index.ts';
import type { BackupStorage, StoredObject } from '../storage/index.ts';
import { parseEvidence } from './schema.ts';
import type { DrillEvidence, HistoryEntry, Ledger } from './schema.ts';

// The ledger: every drill's evidence JSON records the SHA-256 of the previous drill's evidence
// JSON, and may carry a detached Ed25519 signature (`.json.sig`). verifyReports walks the chain in
// storage and names every record that is missing, altered, re-ordered or unsigned. Drills append
// one at a time (appendToLedger: a lock object beside the records, then a last look at the chain
// head before the commit point), so drills running at the same time chain one after the other;
// the order of the chain is the order records were filed, which their finishedAt follows.

/** SHA-256 (hex) of the evidence file's exact bytes. */
export function hashEvidence(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// ---------- signing ----------

export const SignatureSidecar = z.object({
  algorithm: z.literal('ed25519'),
  /** `sha256:` + hex SHA-256 of the public key's SPKI DER encoding. */
  publicKeyFingerprint: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  /** Base64 Ed25519 signature over the evidence JSON bytes. */
  signature: z.string().min(1),
  /** SHA-256 of the signed bytes, for humans comparing files. */
  evidenceSha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
});
export type SignatureSidecar = z.infer<typeof SignatureSidecar>;

/** A fresh Ed25519 key pair, PEM encoded (PKCS#8 private, SPKI public). */
export function generateSigningKey(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function loadKey(material: string, kind: 'private' | 'public'): KeyObject {
  const text = material.trim();
  let key: KeyObject;
  try {
    if (text.startsWith('-----BEGIN')) {
      key = kind === 'private' ? createPrivateKey({ key: text, format: 'pem' }) : createPublicKey({ key: text, format: 'pem' });
    } else {
      const der = Buffer.from(text, 'base64');
      key =
        kind === 'private'
          ? createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
          : createPublicKey({ key: der, format: 'der', type: 'spki' });
    }
  } catch (error) {
    throw new ReportError(`the Ed25519 ${kind} key could not be read: ${(error as Error).message}`, {
      hint:
        kind === 'private'
          ? 'Give a PEM ("-----BEGIN PRIVATE KEY-----") or base64 PKCS#8 DER key; `pgdrill keys signing` makes one'
          : 'Give a PEM ("-----BEGIN PUBLIC KEY-----") or base64 SPKI DER key',
      cause: error,
    });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new ReportError(`the ${kind} signing key is ${key.asymmetricKeyType ?? 'not an asymmetric key'}, not Ed25519`, {
      hint: 'Use an Ed25519 key (`pgdrill keys signing` or `openssl genpkey -algorithm ed25519`)',
    });
  }
  return key;
}

/** `sha256:<hex>` of the SPKI DER of a public key (or of the public half of a private key). */
export function publicKeyFingerprint(key: string, kind: 'private' | 'public' = 'public'): string {
  const loaded = loadKey(key, kind);
  const pub = kind === 'private' ? createPublicKey(loaded) : loaded;
  return `sha256:${createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex')}`;
}

/** Base64 Ed25519 signature of `bytes` with a PEM or base64 PKCS#8 DER private key. */
export function signEvidence(bytes: Buffer, privateKey: string): string {
  return sign(null, bytes, loadKey(privateKey, 'private')).toString('base64');
}

/** The `.json.sig` sidecar for evidence bytes. */
export function signatureSidecar(bytes: Buffer, privateKey: string): SignatureSidecar {
  return {
    algorithm: 'ed25519',
    publicKeyFingerprint: publicKeyFingerprint(privateKey, 'private'),
    signature: signEvidence(bytes, privateKey),
    evidenceSha256: hashEvidence(bytes),
  };
}

/** Whether `signature` (base64) is a valid Ed25519 signature of `bytes` under `publicKey`. */
export function verifyEvidenceSignature(bytes: Buffer, signature: string, publicKey: string): boolean {
  try {
    return verify(null, bytes, loadKey(publicKey, 'public'), Buffer.from(signature, 'base64'));
  } catch (error) {
    if (error instanceof ReportError) throw error;
    return false;
  }
}

// ---------- publishing and reading ----------

export interface ReportPaths {
  jsonPath: string;
  htmlPath: string;
  pdfPath: string;
  signaturePath?: string;
}

export interface PublishedReport {
  jsonKey: string;
  htmlKey: string;
  pdfKey: string;
  signatureKey?: string;
}

/**
 * Uploads a rendered report beside the backups: PDF, HTML and signature first, the evidence JSON
 * last (the JSON is the record's commit point: readers list `.json` files).
 */
export async function publishReport(
  storage: BackupStorage,
  prefix: string,
  paths: ReportPaths,
  evidence: Pick<DrillEvidence, 'drillId' | 'startedAt'>,
): Promise<PublishedReport> {
  const startedAt = new Date(evidence.startedAt);
  const jsonKey = drillReportKey(prefix, evidence.drillId, startedAt, 'json');
  const published: PublishedReport = {
    jsonKey,
    htmlKey: drillReportKey(prefix, evidence.drillId, startedAt, 'html'),
    pdfKey: drillReportKey(prefix, evidence.drillId, startedAt, 'pdf'),
  };
  const upload = async (path: string, key: string, contentType: string): Promise<void> => {
    const body = await readFile(path).catch((error: unknown) => {
      throw new ReportError(`cannot read ${path} to upload it as ${key}: ${(error as Error).message}`, {
        hint: 'Render the report first (renderReport) and upload from the paths it returned',
        cause: error,
      });
    });
    await storage.put(key, body, { contentLength: body.length, contentType });
  };
  await upload(paths.pdfPath, published.pdfKey, 'application/pdf');
  await upload(paths.htmlPath, published.htmlKey, 'text/html; charset=utf-8');
  if (paths.signaturePath) {
    published.signatureKey = `${jsonKey}.sig`;
    await upload(paths.signaturePath, published.signatureKey, 'application/json');
  }
  await upload(paths.jsonPath, jsonKey, 'application/json');
  return published;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

interface Listing {
  evidence: StoredObject[];
  keys: Set<string>;
}

async function listDrills(storage: BackupStorage, prefix: string): Promise<Listing> {
  const evidence: StoredObject[] = [];
  const keys = new Set<string>();
  for await (const object of storage.list(drillsPrefix(prefix))) {
    keys.add(object.key);
    if (object.key.endsWith('.json')) evidence.push(object);
  }
  return { evidence, keys };
}

/** One evidence record as stored. */
export interface StoredDrillRecord {
  key: string;
  evidence: DrillEvidence;
  /** SHA-256 of the stored JSON bytes: what the next drill's ledger must record. */
  evidenceSha256: string;
  signed: boolean;
}

export interface ReadHistoryOptions {
  /** Called for a record that cannot be read or parsed; default: throw ReportError. */
  onInvalid?: (key: string, error: Error) => void;
}

/** Filing order of records: by finishedAt (stamped when the record is made, after the previous one was filed), then start and key. */
function byFiling(a: { finishedAt: string | null; startedAt: string | null; key: string }, b: typeof a): number {
  const time = (iso: string | null) => (iso === null ? Number.POSITIVE_INFINITY : Date.parse(iso));
  return time(a.finishedAt) - time(b.finishedAt) || time(a.startedAt) - time(b.startedAt) || a.key.localeCompare(b.key);
}

/**
 * The latest `limit` drill records in storage, in filing order (newest last). The drill engine
 * uses them to fill `history` and `ledger` (see nextLedger / historyWith).
 */
export async function readDrillHistory(
  storage: BackupStorage,
  prefix: string,
  limit = 12,
  options: ReadHistoryOptions = {},
): Promise<StoredDrillRecord[]> {
  const { evidence, keys } = await listDrills(storage, prefix);
  const records: StoredDrillRecord[] = [];
  for (const object of evidence) {
    try {
      const bytes = await readAll(await storage.get(object.key));
      records.push({
        key: object.key,
        evidence: parseEvidence(bytes, object.key),
        evidenceSha256: hashEvidence(bytes),
        signed: keys.has(`${object.key}.sig`),
      });
    } catch (error) {
      if (!options.onInvalid) {
        throw new ReportError(`drill record ${object.key} cannot be read: ${(error as Error).message}`, {
          hint: 'Run `pgdrill verify-reports` to see which records are damaged',
          cause: error,
        });
      }
      options.onInvalid(object.key, error as Error);
    }
  }
  records.sort((a, b) => byFiling({ ...a.evidence, key: a.key }, { ...b.evidence, key: b.key }));
  return limit > 0 ? records.slice(-limit) : [];
}

/** The ledger entry for a new drill, given the stored records (oldest first). */
export function nextLedger(records: readonly StoredDrillRecord[]): Ledger {
  const last = records.at(-1);
  return last
    ? { previousDrillId: last.evidence.drillId, previousEvidenceSha256: last.evidenceSha256 }
    : { previousDrillId: null, previousEvidenceSha256: null };
}

/** `history` for a new drill: the stored records plus this drill, the last 12, oldest first. */
export function historyWith(records: readonly StoredDrillRecord[], current: HistoryEntry): HistoryEntry[] {
  const past = records.map(({ evidence: e }) => ({ drillId: e.drillId, startedAt: e.startedAt, verdict: e.verdict, rtoMs: e.timings.rtoMs }));
  return [...past.filter((h) => h.drillId !== current.drillId), current].slice(-12);
}

// ---------- appending, one drill at a time ----------

/** How long ledger appends wait for each other. */
export interface LedgerLockTiming {
  /** A lock expires this long after it was taken (a crashed drill cannot block the ledger for longer). */
  ttlMs: number;
  /** Pause between looks at a lock another drill holds. */
  pollMs: number;
  /** Pause between writing the lock and reading it back: storage has no create-if-absent here, so two writers are told apart by whose lock is there afterwards. */
  settleMs: number;
}

/** Longer than rendering (Chromium may take 60 s to start and 60 s to print) and uploading a report. */
export const DEFAULT_LEDGER_LOCK: LedgerLockTiming = { ttlMs: 5 * 60_000, pollMs: 1_000, settleMs: 1_000 };

/** Attempts to file a record when the chain head keeps moving under it. */
const APPEND_ATTEMPTS = 3;

const LedgerLockRecord = z.object({ owner: z.string(), host: z.string(), pid: z.number(), expiresAt: z.string() });
type LedgerLockRecord = z.infer<typeof LedgerLockRecord>;

/** The lock object, beside the records (`.lock`, so no reader takes it for a record). */
export function ledgerLockKey(prefix: string): string {
  return `${drillsPrefix(prefix)}ledger.lock`;
}

/** The lock as stored, or undefined when there is none (or something that is not a pgdrill lock: it cannot block the ledger). */
async function readLock(storage: BackupStorage, key: string): Promise<LedgerLockRecord | undefined> {
  let text: string;
  try {
    text = (await readAll(await storage.get(key))).toString('utf8');
  } catch (error) {
    if (error instanceof StorageError && error.code === 'NOT_FOUND') return undefined;
    throw error;
  }
  try {
    return LedgerLockRecord.parse(JSON.parse(text));
  } catch {
    return undefined;
  }
}

interface HeldLock {
  /** Whether the lock is still ours (it may have expired and been taken over). */
  held(): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * Takes the ledger lock: waits while another drill holds an unexpired one, then writes its own
 * and reads it back after `settleMs`; a competitor that wrote in between wins and this one waits.
 * Never waits forever: a lock expires after `ttlMs`.
 */
async function acquireLedgerLock(storage: BackupStorage, prefix: string, owner: string, timing: LedgerLockTiming, log: (line: string) => void): Promise<HeldLock> {
  const key = ledgerLockKey(prefix);
  const id = `${owner}#${randomBytes(6).toString('hex')}`;
  const deadline = Date.now() + 3 * timing.ttlMs;
  let reported: string | undefined;
  for (;;) {
    const current = await readLock(storage, key);
    if (!current || Date.parse(current.expiresAt) <= Date.now()) {
      const mine: LedgerLockRecord = { owner: id, host: hostname(), pid: process.pid, expiresAt: new Date(Date.now() + timing.ttlMs).toISOString() };
      await storage.put(key, Buffer.from(`${JSON.stringify(mine)}\n`), { contentType: 'application/json' });
      await sleep(timing.settleMs);
      if ((await readLock(storage, key))?.owner === id) break;
    } else if (reported !== current.owner) {
      reported = current.owner;
      log(`waiting for ${current.owner.replace(/#.*$/, '')} (${current.host}, pid ${current.pid}) to file its record first: it holds ${key} until ${current.expiresAt}`);
    }
    if (Date.now() > deadline) {
      throw new ReportError(`the drill ledger stayed locked by other drills for ${Math.round((3 * timing.ttlMs) / 60_000)} minutes (${key})`, {
        hint: 'Run drills one at a time; if none is running, delete the lock object and file the record again (`pgdrill report --from` renders it; the evidence JSON is on disk)',
      });
    }
    await sleep(timing.pollMs * (0.5 + Math.random()));
  }
  const held = async () => (await readLock(storage, key))?.owner === id;
  const release = async () => {
    unregister();
    if (await held()) await storage.delete([key]);
  };
  // On a signal the lock is released; if the process dies without that, the lock expires.
  const unregister = registerCleanup({ kind: 'ledger lock(s)', label: key, run: release, runSync: () => {} });
  return { held, release };
}

/** A record made on top of the stored history, ready to publish. */
export interface LedgerEntry {
  paths: ReportPaths;
  evidence: Pick<DrillEvidence, 'drillId' | 'startedAt' | 'ledger'>;
}

export interface AppendOptions {
  /** Who appends: the drill id (names the lock's owner). */
  owner: string;
  /** Records `build` gets (the newest last); default 12. */
  historyLimit?: number;
  /** A stored record that cannot be read (see readDrillHistory); default: throw. */
  onInvalid?: (key: string, error: Error) => void;
  /** Progress worth telling a person: waiting for another drill, rebuilding on a moved head. */
  log?: (line: string) => void;
  timing?: LedgerLockTiming;
}

/**
 * Files a drill record at the end of the ledger, one drill at a time. Under the ledger lock it
 * reads the stored history, has `build` make the record on top of it (evidence with its ledger
 * link, rendered), then looks at the chain head once more just before publishing: if another
 * record was filed meanwhile (a lock taken over after expiry, or a write race the lock cannot rule
 * out without conditional writes), the record is built again on the new head. Returns what was
 * published and the entry `build` made last.
 */
export async function appendToLedger<Entry extends LedgerEntry>(
  storage: BackupStorage,
  prefix: string,
  options: AppendOptions,
  build: (history: StoredDrillRecord[]) => Promise<Entry>,
): Promise<{ published: PublishedReport; entry: Entry }> {
  const log = options.log ?? (() => {});
  const acquire = () => acquireLedgerLock(storage, prefix, options.owner, options.timing ?? DEFAULT_LEDGER_LOCK, log);
  let lock = await acquire();
  try {
    for (let attempt = 1; ; attempt += 1) {
      const history = await readDrillHistory(storage, prefix, options.historyLimit ?? 12, { onInvalid: options.onInvalid });
      const entry = await build(history);
      const head = nextLedger(await readDrillHistory(storage, prefix, 1, { onInvalid: () => {} }));
      const link = entry.evidence.ledger;
      const moved = head.previousDrillId !== link.previousDrillId || head.previousEvidenceSha256 !== link.previousEvidenceSha256;
      const held = await lock.held();
      if (!moved && held) return { published: await publishReport(storage, prefix, entry.paths, entry.evidence), entry };
      if (attempt === APPEND_ATTEMPTS) {
        throw new ReportError(`the drill ledger kept moving while ${options.owner} was being filed (${attempt} attempts)`, {
          hint: 'Other drills are filing records at the same time: run drills one at a time and file this one again',
        });
      }
      if (moved) log(`${head.previousDrillId ?? 'another drill'} was filed while ${options.owner} was being made: making it again on top of the new head`);
      if (!held) {
        log(`the ledger lock expired while ${options.owner} was being made: taking it again`);
        await lock.release();
        lock = await acquire();
      }
    }
  } finally {
    await lock.release();
  }
}

// ---------- verification ----------

export type RecordProblemKind =
  /** The ledger names a previous record that is not in storage (deleted). */
  | 'missing'
  /** Content changed since it was chained or signed, or the JSON no longer parses. */
  | 'altered'
  /**
   * The chain disagrees with the dates: a record finished before the one it names (back-dated), a
   * second record on one predecessor long after the first (inserted), a new ledger started
   * although records exist (restarted), or the record was moved to another key.
   */
  | 'reordered'
  /**
   * Two records name the same predecessor, filed within FORK_WINDOW_MS of each other: drills that
   * ran at the same time before appends were serialised. Both links check out; reported, but does
   * not fail verification (see failsVerification).
   */
  | 'forked'
  /** No `.json.sig` while a public key was given. */
  | 'unsigned'
  /** The evidence JSON is there but its PDF or HTML is not. */
  | 'incomplete';

/**
 * Whether a problem fails verification. A fork does not: both records are in storage and hash- (and
 * signature-) checked like any other, nothing was lost, and it cannot be repaired without rewriting
 * signed records, so failing on it would be an alarm nobody can ever clear. A fork that is not
 * explained by concurrent drills (siblings filed further apart) is `reordered` and does fail.
 */
export function failsVerification(kind: RecordProblemKind): boolean {
  return kind !== 'forked';
}

/**
 * How far apart two records on the same predecessor may have been made and still come from drills
 * that ran at the same time: a drill made its record (finishedAt), then rendered and uploaded it
 * (Chromium may take 60 s to start and 60 s to print) before the other could see it.
 */
export const FORK_WINDOW_MS = 10 * 60_000;

export interface RecordProblem {
  kind: RecordProblemKind;
  /** The record the problem is about (for `missing`: the record that names the lost one). */
  drillId: string;
  key: string;
  message: string;
}

export type SignatureState = 'valid' | 'invalid' | 'absent' | 'not-checked';

export interface VerifiedRecord {
  drillId: string;
  key: string;
  startedAt: string | null;
  finishedAt: string | null;
  sha256: string;
  signature: SignatureState;
  status: 'ok' | RecordProblemKind;
}

export interface VerifyReportsResult {
  /** No problem that fails verification (a fork alone does not). */
  ok: boolean;
  /** Every evidence record found, in filing order (by finishedAt; undated ones last). */
  records: VerifiedRecord[];
  problems: RecordProblem[];
}

export interface VerifyReportsOptions {
  /** Ed25519 public key (PEM or base64 SPKI DER). When given, every record must carry a valid signature. */
  publicKey?: string;
}

interface LoadedRecord {
  key: string;
  bytes: Buffer;
  sha256: string;
  drillId: string;
  startedAt: string | null;
  finishedAt: string | null;
  evidence: DrillEvidence | null;
  parseError: string | null;
  sidecar: Buffer | null;
}

/** Best-effort id and dates from a record that fails the schema, so problems can still name it. */
function rawIdentity(bytes: Buffer, key: string): { drillId: string; startedAt: string | null; finishedAt: string | null } {
  const fallback = key.split('/').pop()?.replace(/\.json$/, '') ?? key;
  const date = (value: unknown) => (typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? value : null);
  try {
    const raw = JSON.parse(bytes.toString('utf8')) as { drillId?: unknown; startedAt?: unknown; finishedAt?: unknown };
    return { drillId: typeof raw.drillId === 'string' ? raw.drillId : fallback, startedAt: date(raw.startedAt), finishedAt: date(raw.finishedAt) };
  } catch {
    return { drillId: fallback, startedAt: null, finishedAt: null };
  }
}

/** `3 s`, `11 min`, `90 days`: how far apart two instants are, for messages. */
const timeApart = (a: string, b: string): string => {
  const ms = Math.abs(Date.parse(a) - Date.parse(b));
  return ms < 120_000 ? `${Math.round(ms / 1000)} s` : ms < 2 * 86_400_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 86_400_000)} days`;
};

/**
 * Walks every drill record under `{prefix}/drills/` in filing order and checks the ledger chain,
 * the signatures and that each record's PDF and HTML are present.
 */
export async function verifyReports(storage: BackupStorage, prefix: string, options: VerifyReportsOptions = {}): Promise<VerifyReportsResult> {
  const fingerprint = options.publicKey ? publicKeyFingerprint(options.publicKey, 'public') : null;
  const { evidence: objects, keys } = await listDrills(storage, prefix);

  const loaded: LoadedRecord[] = [];
  for (const object of objects) {
    const bytes = await readAll(await storage.get(object.key));
    const sigKey = `${object.key}.sig`;
    const sidecar = keys.has(sigKey) ? await readAll(await storage.get(sigKey)) : null;
    let evidence: DrillEvidence | null = null;
    let parseError: string | null = null;
    try {
      evidence = parseEvidence(bytes, object.key);
    } catch (error) {
      parseError = (error as Error).message;
    }
    const identity = evidence ? { drillId: evidence.drillId, startedAt: evidence.startedAt, finishedAt: evidence.finishedAt } : rawIdentity(bytes, object.key);
    loaded.push({ key: object.key, bytes, sha256: hashEvidence(bytes), ...identity, evidence, parseError, sidecar });
  }
  loaded.sort(byFiling);

  const problems: RecordProblem[] = [];
  const statusOf = new Map<LoadedRecord, VerifiedRecord['status']>();
  const add = (record: LoadedRecord, kind: RecordProblemKind, message: string): void => {
    problems.push({ kind, drillId: record.drillId, key: record.key, message });
    if (!statusOf.has(record)) statusOf.set(record, kind);
  };
  const signatures = new Map<LoadedRecord, SignatureState>();

  // 1. Each record on its own: schema, signature, companions.
  for (const record of loaded) {
    if (record.parseError !== null) add(record, 'altered', `${record.key} no longer matches the evidence schema: ${record.parseError}`);
    signatures.set(record, checkSignature(record, options.publicKey, fingerprint, add));
    if (record.evidence) {
      const expected = drillReportKey(prefix, record.drillId, new Date(record.evidence.startedAt), 'json');
      if (record.key !== expected) {
        add(record, 'reordered', `${record.drillId} is filed as ${record.key}, but its start time ${record.evidence.startedAt} files it as ${expected}: it was moved`);
      }
    }
    for (const ext of ['pdf', 'html'] as const) {
      const companion = record.key.replace(/\.json$/, `.${ext}`);
      if (!keys.has(companion)) add(record, 'incomplete', `${record.drillId}: the ${ext.toUpperCase()} report ${companion} is missing beside its evidence`);
    }
  }

  // 2. The chain.
  const byId = new Map<string, LoadedRecord[]>();
  for (const record of loaded) byId.set(record.drillId, [...(byId.get(record.drillId) ?? []), record]);
  for (const [drillId, same] of byId) {
    if (same.length > 1) {
      for (const record of same.slice(1)) add(record, 'altered', `${drillId} appears more than once (${same.map((r) => r.key).join(', ')})`);
    }
  }
  // Each record names the one filed before it: the link must resolve, hash-match, and not point
  // forward in time. Records whose link checks out are grouped by what they name (null: they
  // start the ledger); a group of more than one is a fork.
  const alteredByChain = new Set<LoadedRecord>();
  const onPredecessor = new Map<string | null, LoadedRecord[]>();
  for (const record of loaded) {
    if (record.evidence === null) continue;
    const ledger = record.evidence.ledger;
    if (ledger.previousDrillId !== null) {
      const named = byId.get(ledger.previousDrillId)?.[0];
      if (!named) {
        add(
          record,
          'missing',
          `${record.drillId} follows ${ledger.previousDrillId} (evidence sha256 ${ledger.previousEvidenceSha256?.slice(0, 16)}…), but no record of ${ledger.previousDrillId} is in storage: it was deleted or moved`,
        );
        continue;
      }
      if (named.sha256 !== ledger.previousEvidenceSha256) {
        if (!alteredByChain.has(named)) {
          alteredByChain.add(named);
          add(
            named,
            'altered',
            `${named.drillId}'s evidence now hashes to ${named.sha256.slice(0, 16)}…, but ${record.drillId} recorded ${ledger.previousEvidenceSha256?.slice(0, 16)}…: it was changed after ${record.drillId} was filed`,
          );
        }
        continue;
      }
      if (named.finishedAt !== null && Date.parse(record.evidence.finishedAt) < Date.parse(named.finishedAt)) {
        add(
          record,
          'reordered',
          `${record.drillId} (finished ${record.evidence.finishedAt}) names ${named.drillId} (finished ${named.finishedAt}) as the previous drill, but a record is made only after the previous one was filed: it was back-dated`,
        );
        continue;
      }
    }
    onPredecessor.set(ledger.previousDrillId, [...(onPredecessor.get(ledger.previousDrillId) ?? []), record]);
  }
  for (const [previous, [first, ...others]] of onPredecessor) {
    const firstAt = first!.evidence!.finishedAt;
    if (previous === null) {
      const earlier = loaded.slice(0, loaded.indexOf(first!));
      if (earlier.length > 0) {
        add(first!, 'reordered', `${first!.drillId} starts a new ledger (no previous drill) but ${earlier.length} earlier record(s) exist, the latest ${earlier.at(-1)!.drillId}: it was filed out of order or the chain was restarted`);
      }
    }
    const what = previous === null ? 'start the ledger (no previous drill)' : `name ${previous} as the previous drill, with its correct hash`;
    for (const record of others) {
      const at = record.evidence!.finishedAt;
      if (Date.parse(at) - Date.parse(firstAt) <= FORK_WINDOW_MS) {
        add(
          record,
          'forked',
          `${first!.drillId} and ${record.drillId} both ${what}: the two drills ran at the same time (their records were made ${timeApart(firstAt, at)} apart) and each chained to the newest record it saw. Both records are in storage and checked like every other; nothing is missing or altered. Reported, not a failure: a fork cannot be undone without rewriting signed records, and drills now file one at a time`,
        );
      } else {
        add(
          record,
          'reordered',
          `${record.drillId} and ${first!.drillId} both ${what}, but their records were made ${timeApart(firstAt, at)} apart, too far apart for drills running at the same time: ${previous === null ? 'the chain was restarted' : 'a record was inserted into the chain'}`,
        );
      }
    }
  }

  const records: VerifiedRecord[] = loaded.map((r) => ({
    drillId: r.drillId,
    key: r.key,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    sha256: r.sha256,
    signature: signatures.get(r) ?? 'not-checked',
    status: statusOf.get(r) ?? 'ok',
  }));
  return { ok: !problems.some((p) => failsVerification(p.kind)), records, problems };
}

function checkSignature(
  record: LoadedRecord,
  publicKey: string | undefined,
  fingerprint: string | null,
  add: (record: LoadedRecord, kind: RecordProblemKind, message: string) => void,
): SignatureState {
  if (!record.sidecar) {
    if (publicKey) add(record, 'unsigned', `${record.drillId} has no signature (${record.key}.sig) although records must be signed`);
    return publicKey ? 'absent' : 'not-checked';
  }
  if (!publicKey) return 'not-checked';
  let sidecar: SignatureSidecar;
  try {
    sidecar = SignatureSidecar.parse(JSON.parse(record.sidecar.toString('utf8')));
  } catch {
    add(record, 'altered', `${record.drillId}: the signature file ${record.key}.sig is not a valid pgdrill signature`);
    return 'invalid';
  }
  if (sidecar.publicKeyFingerprint !== fingerprint) {
    add(record, 'altered', `${record.drillId} is signed by key ${sidecar.publicKeyFingerprint}, not by the expected key ${fingerprint}`);
    return 'invalid';
  }
  if (!verifyEvidenceSignature(record.bytes, sidecar.signature, publicKey)) {
    add(record, 'altered', `${record.drillId}: the Ed25519 signature does not match the evidence bytes: the record was changed after signing`);
    return 'invalid';
  }
  return 'valid';
}
