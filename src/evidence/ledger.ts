import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { drillReportKey, drillsPrefix } from '../catalog/index.ts';
import { ReportError } from '../errors/index.ts';
import type { BackupStorage, StoredObject } from '../storage/index.ts';
import { parseEvidence } from './schema.ts';
import type { DrillEvidence, HistoryEntry, Ledger } from './schema.ts';

// The ledger: every drill's evidence JSON records the SHA-256 of the previous drill's evidence
// JSON, and may carry a detached Ed25519 signature (`.json.sig`). verifyReports walks the chain in
// storage and names every record that is missing, altered, re-ordered or unsigned.

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

/**
 * The latest `limit` drill records in storage, oldest first (newest last), by startedAt. The
 * drill engine uses them to fill `history` and `ledger` (see nextLedger / historyWith).
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
  records.sort((a, b) => Date.parse(a.evidence.startedAt) - Date.parse(b.evidence.startedAt));
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

// ---------- verification ----------

export type RecordProblemKind =
  /** The ledger names a previous record that is not in storage (deleted). */
  | 'missing'
  /** Content changed since it was chained or signed, or the JSON no longer parses. */
  | 'altered'
  /** Ledger order disagrees with startedAt order (back-dated or inserted record), or the record was moved to another key. */
  | 'reordered'
  /** No `.json.sig` while a public key was given. */
  | 'unsigned'
  /** The evidence JSON is there but its PDF or HTML is not. */
  | 'incomplete';

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
  sha256: string;
  signature: SignatureState;
  status: 'ok' | RecordProblemKind;
}

export interface VerifyReportsResult {
  ok: boolean;
  /** Every evidence record found, in startedAt order (unparseable ones last). */
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
  evidence: DrillEvidence | null;
  parseError: string | null;
  sidecar: Buffer | null;
}

/** Best-effort id and date from a record that fails the schema, so problems can still name it. */
function rawIdentity(bytes: Buffer, key: string): { drillId: string; startedAt: string | null } {
  const fallback = key.split('/').pop()?.replace(/\.json$/, '') ?? key;
  try {
    const raw = JSON.parse(bytes.toString('utf8')) as { drillId?: unknown; startedAt?: unknown };
    return {
      drillId: typeof raw.drillId === 'string' ? raw.drillId : fallback,
      startedAt: typeof raw.startedAt === 'string' && !Number.isNaN(Date.parse(raw.startedAt)) ? raw.startedAt : null,
    };
  } catch {
    return { drillId: fallback, startedAt: null };
  }
}

/**
 * Walks every drill record under `{prefix}/drills/` in startedAt order and checks the ledger
 * chain, the signatures and that each record's PDF and HTML are present.
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
    const identity = evidence ? { drillId: evidence.drillId, startedAt: evidence.startedAt } : rawIdentity(bytes, object.key);
    loaded.push({ key: object.key, bytes, sha256: hashEvidence(bytes), ...identity, evidence, parseError, sidecar });
  }
  loaded.sort((a, b) => {
    if (a.startedAt === null || b.startedAt === null) return a.startedAt === null ? (b.startedAt === null ? 0 : 1) : -1;
    return Date.parse(a.startedAt) - Date.parse(b.startedAt) || a.key.localeCompare(b.key);
  });

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
  const alteredByChain = new Set<LoadedRecord>();
  const dated = loaded.filter((r) => r.startedAt !== null);
  dated.forEach((record, index) => {
    if (record.evidence === null) return;
    const ledger = record.evidence.ledger;
    const timePredecessor = index > 0 ? dated[index - 1] : undefined;
    if (ledger.previousDrillId === null) {
      if (timePredecessor) {
        add(
          record,
          'reordered',
          `${record.drillId} starts a new ledger (no previous drill) but ${index} earlier record(s) exist, the latest ${timePredecessor.drillId}: it was filed out of order or the chain was restarted`,
        );
      }
      return;
    }
    const named = byId.get(ledger.previousDrillId)?.[0];
    if (!named) {
      add(
        record,
        'missing',
        `${record.drillId} follows ${ledger.previousDrillId} (evidence sha256 ${ledger.previousEvidenceSha256?.slice(0, 16)}…), but no record of ${ledger.previousDrillId} is in storage: it was deleted or moved`,
      );
      return;
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
      return;
    }
    if (timePredecessor !== named) {
      add(
        record,
        'reordered',
        `${record.drillId} (${record.startedAt}) names ${named.drillId} (${named.startedAt}) as the previous drill, but by start time the previous record is ${timePredecessor ? `${timePredecessor.drillId} (${timePredecessor.startedAt})` : 'none'}: a record was back-dated or inserted`,
      );
    }
  });

  const records: VerifiedRecord[] = loaded.map((r) => ({
    drillId: r.drillId,
    key: r.key,
    startedAt: r.startedAt,
    sha256: r.sha256,
    signature: signatures.get(r) ?? 'not-checked',
    status: statusOf.get(r) ?? 'ok',
  }));
  return { ok: problems.length === 0, records, problems };
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
