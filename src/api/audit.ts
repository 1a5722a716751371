import { randomBytes } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { auditPrefix, auditRecordKey, parseAuditRecordKey, Sha256Hex } from '../catalog/index.ts';
import { hashEvidence } from '../evidence/index.ts';
import type { BackupStorage } from '../storage/index.ts';

// The admin audit trail: every admin action (a backup or drill triggered, a download, a deletion,
// a refusal, a login and a failed one) is one JSON object in storage, beside the backups, written
// once. Like the drill ledger each record carries the SHA-256 of the previous record's exact bytes
// (hashEvidence), so a record removed, altered or slipped in breaks the chain. Appends take a short
// Redis lock, and the chain head is kept in Redis, so every `pgdrill serve` of a deployment appends
// to one chain; without the head in Redis (a new Redis) it is read back from storage.

export const AUDIT_FORMAT_VERSION = 1;

export const AuditAction = z.enum(['login', 'login.failure', 'backup.trigger', 'drill.trigger', 'backup.download', 'backup.delete']);
export type AuditAction = z.infer<typeof AuditAction>;

export const AuditRecord = z.object({
  formatVersion: z.literal(AUDIT_FORMAT_VERSION),
  /** 1, 2, …: the position in the chain (and in the key). */
  seq: z.number().int().positive(),
  at: z.iso.datetime(),
  /** Token name, `admin (password)`, or `anonymous` for a failed login. */
  actor: z.string(),
  role: z.string(),
  action: AuditAction,
  outcome: z.enum(['ok', 'refused', 'failed']),
  /** What it acted on: a BackupRef, a database, a JobRef. */
  target: z.string().nullable(),
  /** The deletion's reason, the refusal's, the job id. */
  detail: z.string().nullable(),
  /** Client address as the server saw it. */
  client: z.string().nullable(),
  /** SHA-256 of the previous record's bytes; null for the first. */
  previousSha256: Sha256Hex.nullable(),
});
export type AuditRecord = z.infer<typeof AuditRecord>;

export type AuditEvent = Pick<AuditRecord, 'actor' | 'role' | 'action' | 'outcome'> & Partial<Pick<AuditRecord, 'target' | 'detail' | 'client'>>;

interface Head {
  seq: number;
  sha256: string;
}

export interface StoredAuditRecord {
  key: string;
  record: AuditRecord;
  sha256: string;
}

export interface AuditChainCheck {
  ok: boolean;
  checked: number;
  problems: string[];
}

const LOCK_MS = 15_000;

export class AuditTrail {
  readonly #storage: BackupStorage;
  readonly #prefix: string;
  readonly #redis: Redis;
  readonly #headKey: string;
  readonly #lockKey: string;
  /** Records are written once: what was read stays read. */
  readonly #read = new Map<string, StoredAuditRecord>();
  #keys: string[] | undefined;
  #keysSeq = -1;
  /** Appends from this process, one after the other. */
  #tail: Promise<unknown> = Promise.resolve();

  constructor(storage: BackupStorage, prefix: string, redis: Redis, queuePrefix: string) {
    this.#storage = storage;
    this.#prefix = prefix;
    this.#redis = redis;
    this.#headKey = `${queuePrefix}:api:audit:head:${prefix}`;
    this.#lockKey = `${queuePrefix}:api:audit:lock:${prefix}`;
  }

  /** Appends one record at the end of the chain. */
  append(event: AuditEvent): Promise<StoredAuditRecord> {
    const run = this.#tail.then(() => this.#appendLocked(event));
    this.#tail = run.catch(() => {});
    return run;
  }

  async #appendLocked(event: AuditEvent): Promise<StoredAuditRecord> {
    const token = randomBytes(12).toString('hex');
    for (const until = Date.now() + 3 * LOCK_MS; (await this.#redis.set(this.#lockKey, token, 'PX', LOCK_MS, 'NX')) !== 'OK'; ) {
      if (Date.now() > until) throw new Error('the audit trail stayed locked by another pgdrill serve for 45 s');
      await sleep(25 + Math.random() * 50);
    }
    try {
      const head = await this.#head();
      const at = new Date();
      const record = AuditRecord.parse({
        formatVersion: AUDIT_FORMAT_VERSION,
        seq: head.seq + 1,
        at: at.toISOString(),
        target: null,
        detail: null,
        client: null,
        ...event,
        previousSha256: head.seq === 0 ? null : head.sha256,
      });
      const bytes = Buffer.from(`${JSON.stringify(record)}\n`);
      const key = auditRecordKey(this.#prefix, record.seq, at);
      await this.#storage.put(key, bytes, { contentLength: bytes.length, contentType: 'application/json' });
      const stored = { key, record, sha256: hashEvidence(bytes) };
      await this.#redis.set(this.#headKey, JSON.stringify({ seq: record.seq, sha256: stored.sha256 }));
      this.#read.set(key, stored);
      if (this.#keys && this.#keysSeq === head.seq) {
        this.#keys.push(key);
        this.#keysSeq = record.seq;
      }
      return stored;
    } finally {
      await this.#redis.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end", 1, this.#lockKey, token);
    }
  }

  async #head(): Promise<Head> {
    const cached = await this.#redis.get(this.#headKey);
    if (cached) return JSON.parse(cached) as Head;
    const keys = await this.#listKeys(true);
    const last = keys.at(-1);
    if (!last) return { seq: 0, sha256: '' };
    const stored = await this.#readRecord(last);
    return { seq: stored.record.seq, sha256: stored.sha256 };
  }

  async #listKeys(force = false): Promise<string[]> {
    const headSeq = JSON.parse((await this.#redis.get(this.#headKey)) ?? '{"seq":-2}') as Head;
    if (!force && this.#keys && headSeq.seq === this.#keysSeq) return this.#keys;
    const keys: Array<{ key: string; seq: number }> = [];
    for await (const object of this.#storage.list(auditPrefix(this.#prefix))) {
      const parsed = parseAuditRecordKey(this.#prefix, object.key);
      if (parsed) keys.push({ key: object.key, seq: parsed.seq });
    }
    keys.sort((a, b) => a.seq - b.seq);
    this.#keys = keys.map((k) => k.key);
    this.#keysSeq = headSeq.seq;
    return this.#keys;
  }

  async #readRecord(key: string): Promise<StoredAuditRecord> {
    const known = this.#read.get(key);
    if (known) return known;
    const bytes = await buffer(await this.#storage.get(key));
    const stored = { key, record: AuditRecord.parse(JSON.parse(bytes.toString('utf8'))), sha256: hashEvidence(bytes) };
    this.#read.set(key, stored);
    return stored;
  }

  /** The newest `limit` records (newest first) and a check of the chain links among them (and to the one before). */
  async recent(limit: number): Promise<{ items: StoredAuditRecord[]; chain: AuditChainCheck }> {
    const keys = await this.#listKeys();
    const window = keys.slice(-(limit + 1));
    const records: StoredAuditRecord[] = [];
    const problems: string[] = [];
    for (const key of window) {
      try {
        records.push(await this.#readRecord(key));
      } catch (error) {
        problems.push(`${key} cannot be read: ${(error as Error).message}`);
      }
    }
    problems.push(...chainProblems(records, window.length === keys.length));
    const shown = records.slice(-limit).reverse();
    return { items: shown, chain: { ok: problems.length === 0, checked: records.length, problems } };
  }
}

/** What is wrong with consecutive records (oldest first); `fromStart`: the first one must start the chain. */
export function chainProblems(records: readonly StoredAuditRecord[], fromStart: boolean): string[] {
  const problems: string[] = [];
  records.forEach((current, index) => {
    const previous = records[index - 1];
    if (!previous) {
      if (fromStart && (current.record.seq !== 1 || current.record.previousSha256 !== null)) {
        problems.push(`record ${current.record.seq} (${current.key}) is the first in storage but does not start the chain: records before it are missing`);
      }
      return;
    }
    if (current.record.seq !== previous.record.seq + 1) {
      problems.push(`records ${previous.record.seq + 1}…${current.record.seq - 1} are missing before ${current.key}`);
    } else if (current.record.previousSha256 !== previous.sha256) {
      problems.push(`record ${previous.record.seq} (${previous.key}) was changed after record ${current.record.seq} was written: its SHA-256 no longer matches the link`);
    }
  });
  return problems;
}
