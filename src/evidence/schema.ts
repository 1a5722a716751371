import { z } from 'zod';
import { Sha256Hex } from '../catalog/index.ts';
import { ReportError } from '../errors/index.ts';

// The drill evidence: the one record a drill leaves behind. The JSON file is what gets hashed,
// chained (ledger) and signed; the HTML and PDF are rendered from it and from nothing else, so
// `pgdrill report --from evidence.json` reproduces the same report years later.

/** Bumped whenever a reader of an older evidence file would misread a newer one. */
export const EVIDENCE_FORMAT_VERSION = 1;

/** Default local time zone of the report: West Africa Time. */
export const DEFAULT_TIME_ZONE = 'Africa/Lagos';

/** ISO-8601 instant in UTC with a trailing `Z`, e.g. `2026-11-23T01:00:00.000Z`. */
const IsoUtc = z.iso.datetime();
/** Calendar date, `YYYY-MM-DD`. */
const IsoDate = z.iso.date();
const Millis = z.number().nonnegative();
/** Drill ids become file names and object keys: keep them to a safe alphabet. */
const DrillId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-" (it becomes a file name)');

const TimeZone = z.string().refine(
  (zone) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected an IANA time zone such as "Africa/Lagos"' },
);

export const Verdict = z.enum(['PASS', 'FAIL']);
export type Verdict = z.infer<typeof Verdict>;

export const CheckStatus = z.enum(['pass', 'fail', 'warn', 'skip']);
export type CheckStatus = z.infer<typeof CheckStatus>;

export const Sandbox = z.object({
  kind: z.enum(['docker', 'embedded']),
  /** Image (docker) or binary directory (embedded). */
  description: z.string().min(1),
  /** `SHOW server_version` of the sandbox server. */
  serverVersion: z.string().min(1),
  /** Always true: a drill never restores anywhere else. Recorded so the report can say so. */
  isolated: z.literal(true),
  /** One sentence for the auditor, e.g. "Restored into a throw-away Docker container …; nothing was restored over production." */
  statement: z.string().min(1),
});
export type Sandbox = z.infer<typeof Sandbox>;

export const BackupUnderTest = z.object({
  id: z.string().min(1),
  tier: z.enum(['daily', 'weekly', 'monthly', 'quarterly', 'yearly']),
  database: z.string().min(1),
  /** Object key of the dump that was downloaded. */
  dumpKey: z.string().min(1),
  takenAt: IsoUtc,
  /** Age of the backup when the drill started. */
  ageHours: z.number().nonnegative(),
  /** Bytes stored (compressed, encrypted). */
  storedSize: z.number().int().nonnegative(),
  /** SHA-256 of the stored bytes, from the manifest. */
  sha256: Sha256Hex,
  /** Whether the downloaded bytes hashed to `sha256`. */
  sha256Verified: z.boolean(),
  /** SHA-256 of the decrypted, decompressed pg_dump output. */
  plaintextSha256: Sha256Hex,
  /** Encryption key id, or null for an unencrypted backup. */
  encryptionKeyId: z.string().min(1).nullable(),
  serverVersion: z.string().min(1),
  pgDumpVersion: z.string().min(1),
  format: z.enum(['custom', 'plain']),
  compression: z.object({ algorithm: z.enum(['zstd', 'gzip', 'none']), level: z.number().int() }),
});
export type BackupUnderTest = z.infer<typeof BackupUnderTest>;

/** A marker row of pgdrill.pitr_markers, as the point-in-time section shows it. */
const PitrMarker = z.object({ id: z.number().int(), markedAt: IsoUtc });

/**
 * A point-in-time drill (`drill --pitr`): the pgBackRest set restored, the recovery target, where
 * recovery ended and the WAL it used. Absent in dump drills (and in records from before it existed).
 */
export const PointInTimeRecovery = z.object({
  tool: z.literal('pgbackrest'),
  /** The database under test (its source's name). */
  database: z.string().min(1),
  stanza: z.string().min(1),
  /** Repository encryption (`none`, `aes-256-cbc`). */
  cipher: z.string(),
  target: z.object({
    type: z.enum(['time', 'latest', 'name']),
    /** The target time (ISO) or restore point; null for latest. */
    value: z.string().nullable(),
    /** How it was chosen (given, or between two markers). */
    reason: z.string(),
  }),
  backupSet: z.object({
    label: z.string().min(1),
    type: z.enum(['full', 'diff', 'incr']),
    startedAt: IsoUtc,
    stoppedAt: IsoUtc,
    lsnStart: z.string(),
    walStart: z.string(),
    walStop: z.string(),
    repoSizeBytes: z.number().int().nonnegative().nullable(),
    /** Why this set. */
    reason: z.string(),
    /** START WAL LOCATION of the restored backup_label; null when the restore did not get there. */
    restoredStartLsn: z.string().nullable(),
  }),
  reached: z.object({
    /** The verdict of the target check: the restored cluster ended where it should. */
    ok: z.boolean(),
    summary: z.string(),
    lastReplayAt: IsoUtc.nullable(),
    /** PostgreSQL's "recovery stopping before commit of transaction …, time …" line. */
    recoveryStop: z.string().nullable(),
    expectedMarker: PitrMarker.nullable(),
    restoredMarker: PitrMarker.nullable(),
  }),
  wal: z.object({
    archiveId: z.string(),
    min: z.string().nullable(),
    max: z.string().nullable(),
    segments: z.number().int().nonnegative(),
    newestArchivedAt: IsoUtc.nullable(),
    /** The last segment recovery restored. */
    lastRestoredSegment: z.string().nullable(),
    /** Runs of missing segments, described. */
    gaps: z.array(z.string()),
  }),
  timings: z.object({ restoreMs: Millis.nullable(), recoveryMs: Millis.nullable() }),
  /** `pgbackrest verify` of the repository. */
  verify: z.object({ ok: z.boolean(), output: z.string(), error: z.string().optional() }).nullable(),
  /** `pgbackrest info --output=json` for the stanza. */
  info: z.json(),
});
export type PointInTimeRecovery = z.infer<typeof PointInTimeRecovery>;

export const OlderBackup = z.object({
  id: z.string().min(1),
  takenAt: IsoUtc,
  ageDays: z.number().nonnegative(),
  encryptionKeyId: z.string().min(1).nullable(),
  status: z.enum(['pass', 'fail', 'skipped']),
  /** One line: what was proven (or why not). */
  detail: z.string(),
});
export type OlderBackup = z.infer<typeof OlderBackup>;

export const Timings = z.object({
  downloadMs: Millis.nullable(),
  decryptMs: Millis.nullable(),
  restoreMs: Millis.nullable(),
  checksMs: Millis.nullable(),
  /** Measured recovery time: from locating the backup to a verified, usable database. Null when the drill never got there. */
  rtoMs: Millis.nullable(),
});
export type Timings = z.infer<typeof Timings>;

export const TimelineEntry = z.object({
  /** Known steps: located, downloaded, decrypted, restored, verified, older-backup, torn-down. Others print as given. */
  step: z.string().regex(/^[a-z][a-z0-9-]*$/, 'expected a lowercase step name such as "restored"'),
  at: IsoUtc,
  detail: z.string().optional(),
});
export type TimelineEntry = z.infer<typeof TimelineEntry>;

export const CorrectiveAction = z.object({
  owner: z.string().optional(),
  dueDate: IsoDate.optional(),
  action: z.string().optional(),
});
export type CorrectiveAction = z.infer<typeof CorrectiveAction>;

export const CheckResult = z.object({
  id: z.string().min(1),
  title: z.string().min(1),
  description: z.string(),
  /** Shipped with pgdrill (true) or written by the organisation (false). */
  builtIn: z.boolean(),
  status: CheckStatus,
  durationMs: Millis,
  /** One line of evidence, e.g. "42 tables, 1,204,311 rows: all counts match the dump's snapshot". */
  summary: z.string(),
  /** Failure message when status is fail (or warn). Printed with personal-data patterns redacted. */
  failure: z.string().optional(),
  /** Structured evidence kept in the JSON record only; never rendered into the HTML/PDF. */
  evidence: z.json().optional(),
  correctiveAction: CorrectiveAction.optional(),
});
export type CheckResult = z.infer<typeof CheckResult>;

export const TableReconciliation = z.object({
  schema: z.string(),
  name: z.string(),
  /** Rows counted in the dump's own snapshot (manifest). */
  expected: z.number().int().nonnegative(),
  /** Rows counted in the restored database; null when the table is missing after restore. */
  actual: z.number().int().nonnegative().nullable(),
});
export type TableReconciliation = z.infer<typeof TableReconciliation>;

const SlotState = z.enum(['present', 'missing', 'not-due']);

export const Retention = z.object({
  /** The registry's retention policy (its own decision: the NDPA sets no fixed period); hourly, quarterly and yearly absent in older records. */
  policy: z.object({
    hourly: z.number().int().nonnegative().optional(),
    daily: z.number().int().nonnegative(),
    weekly: z.number().int().nonnegative(),
    monthly: z.number().int().nonnegative(),
    quarterly: z.number().int().nonnegative().optional(),
    yearly: z.number().int().nonnegative().optional(),
  }),
  /** One slot per month the policy keeps (84 for 7 years), oldest first. */
  monthly: z
    .array(
      z.object({
        month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'expected YYYY-MM'),
        state: SlotState,
        backupId: z.string().optional(),
      }),
    )
    .max(240),
  /** The last dailies the policy keeps (7), oldest first; `not-due` before the first backup ever taken. */
  daily: z
    .array(
      z.object({
        day: IsoDate,
        state: SlotState,
        backupId: z.string().optional(),
      }),
    )
    .max(62),
  /**
   * The other enabled tiers (hourly, weekly, quarterly, yearly: count > 0), each with its slots oldest
   * first (`2026-11-23T14`, `2026-W48`, `2026-Q4`, `2026`); absent in older records.
   */
  tiers: z
    .array(
      z.object({
        tier: z.enum(['hourly', 'weekly', 'quarterly', 'yearly']),
        slots: z.array(z.object({ period: z.string().min(1), state: SlotState })).max(400),
      }),
    )
    .optional(),
});
export type Retention = z.infer<typeof Retention>;

export const HistoryEntry = z.object({
  drillId: DrillId,
  startedAt: IsoUtc,
  verdict: Verdict,
  rtoMs: Millis.nullable(),
});
export type HistoryEntry = z.infer<typeof HistoryEntry>;

export const Control = z.object({
  /** e.g. "NDPA 2023 s.39(2)(c)". */
  ref: z.string().min(1),
  text: z.string().min(1),
});
export type Control = z.infer<typeof Control>;

export const SignoffRole = z.object({
  /** e.g. "Performed by", "Verified by (independent)", "System owner", "DPO acknowledgement". */
  role: z.string().min(1),
  name: z.string().optional(),
  date: IsoDate.optional(),
});
export type SignoffRole = z.infer<typeof SignoffRole>;

export const Ledger = z
  .object({
    previousDrillId: DrillId.nullable(),
    previousEvidenceSha256: Sha256Hex.nullable(),
  })
  .refine((l) => (l.previousDrillId === null) === (l.previousEvidenceSha256 === null), {
    message: 'previousDrillId and previousEvidenceSha256 are set together or both null',
  });
export type Ledger = z.infer<typeof Ledger>;

/** Default control mapping; configuration or the evidence may replace it. */
export function defaultControls(): Control[] {
  return [
    {
      ref: 'NDPA 2023 s.39(2)(c)',
      text: 'Ability to ensure the ongoing availability and resilience of systems that process personal data: a production backup was restored and verified in an isolated environment.',
    },
    {
      ref: 'NDPA 2023 s.39(2)(d)',
      text: 'Ability to restore availability of and access to personal data in a timely manner after an incident: the measured restore time is compared with the recovery time objective.',
    },
    {
      ref: 'NDPA 2023 s.39(2)(f)',
      text: 'A process for regularly testing, assessing and evaluating the effectiveness of these measures: this drill runs on a fixed schedule and every result is filed.',
    },
    {
      ref: 'NDPA 2023 s.39(2)(g)',
      text: 'Updating the measures: failed checks carry a corrective action with an owner and a due date, reviewed at the next drill.',
    },
    {
      ref: 'ISO/IEC 27001:2022 A.8.13',
      text: 'Information backup: backup copies are maintained and regularly tested by restoring onto a test system, not over the original, and checked against the required restore time.',
    },
  ];
}

/** Default breach-assessment line for a verdict (NDPA s.40). */
export function defaultBreachAssessment(verdict: Verdict): string {
  return verdict === 'PASS'
    ? 'Not required. This was a scheduled test; no personal data became unavailable, and the backup was shown to restore. No breach assessment under NDPA 2023 s.40 is called for by this result.'
    : 'Assess now. The backup could not be shown to restore in full, so in a real incident availability of personal data might not be restored in time; a loss of availability is a personal data breach under NDPA 2023 s.40 (notification within 72 hours). The DPO should record whether the finding needs a breach assessment and track the corrective actions below.';
}

/** A set of compliance wording for the report: the controls it maps to, the breach rule, the retention note. */
export interface Wording {
  controls: Control[];
  /** The rule the breach-assessment row cites. */
  breachRef: string;
  breachAssessment(verdict: Verdict): string;
  /** Shown beside the retention policy; `{years}` becomes its length, e.g. "7 years". */
  retentionNote: string;
}

/** Records written before the wording was configurable used the NDPA set: they render as filed. */
export const NDPA_WORDING: Wording = {
  controls: defaultControls(),
  breachRef: 'NDPA 2023 s.40',
  breachAssessment: defaultBreachAssessment,
  retentionNote: "{years} is the registry's own policy; the NDPA sets no fixed retention period.",
};

/** Jurisdiction-neutral wording (ISO/IEC 27001:2022), the default for a drill. */
export const GENERIC_WORDING: Wording = {
  controls: [
    {
      ref: 'ISO/IEC 27001:2022 A.8.13',
      text: 'Information backup: backup copies are maintained and regularly tested by restoring onto a test system, not over the original, and checked against the required restore time.',
    },
    {
      ref: 'ISO/IEC 27001:2022 A.5.30',
      text: 'ICT readiness for business continuity: the measured restore time is compared with the recovery time objective, and the drill runs on a fixed schedule with every result filed.',
    },
  ],
  breachRef: 'Applicable data-protection law',
  breachAssessment: (verdict) =>
    verdict === 'PASS'
      ? 'Not required. This was a scheduled test; no personal data became unavailable, and the backup was shown to restore.'
      : 'Assess now. The backup could not be shown to restore in full, so in a real incident availability of personal data might not be restored in time, which data-protection laws commonly treat as a personal data breach with a short notification deadline. Record whether the finding needs a breach assessment and track the corrective actions below.',
  retentionNote: "{years} is this organisation's own retention policy.",
};

/** Names pre-printed on the sign-off lines (config `report.signoff`); the rest stay blank to fill in by hand. */
export interface SignoffNames {
  performedBy?: string | undefined;
  verifiedBy?: string | undefined;
  systemOwner?: string | undefined;
  dpo?: string | undefined;
}

/** The four sign-off lines every report carries. */
export function defaultSignoff(names: SignoffNames = {}): SignoffRole[] {
  const line = (role: string, name: string | undefined): SignoffRole => (name ? { role, name } : { role });
  return [
    line('Performed by', names.performedBy),
    line('Verified by (independent verifier)', names.verifiedBy),
    line('System owner', names.systemOwner),
    line('DPO acknowledgement', names.dpo),
  ];
}

const DrillEvidenceObject = z.object({
  formatVersion: z.literal(EVIDENCE_FORMAT_VERSION),
  /** e.g. `drill-20261123T010000Z-oslrs`. */
  drillId: DrillId,
  organisation: z.string().min(1),
  system: z.string().min(1),
  /** pgdrill version that produced the evidence. */
  toolVersion: z.string().optional(),
  startedAt: IsoUtc,
  finishedAt: IsoUtc,
  /** IANA zone for local times in the report. */
  timeZone: TimeZone.default(DEFAULT_TIME_ZONE),
  verdict: Verdict,
  /** One plain-language sentence for page 1. */
  summarySentence: z.string().min(1),
  /** Who or what ran the drill: `user@host`, or a CI job name and run id. */
  runBy: z.string().min(1),
  sandbox: Sandbox,
  /** The pgdrill dump under test; absent in a point-in-time drill (see `pitr`). */
  backup: BackupUnderTest.optional(),
  /** A point-in-time drill of a pgBackRest repository; absent in a dump drill. */
  pitr: PointInTimeRecovery.optional(),
  /** An older backup (e.g. a monthly from last year) also restored with today's keys and tools. */
  olderBackup: OlderBackup.nullable(),
  timings: Timings,
  targets: z.object({ rtoMinutes: z.number().positive(), rpoHours: z.number().positive() }),
  /** Measured recovery point: the age of the newest restorable backup when the drill started. */
  rpoHours: z.number().nonnegative(),
  timeline: z.array(TimelineEntry),
  checks: z.array(CheckResult),
  /** Row counts only, never row data. */
  tables: z.array(TableReconciliation),
  retention: Retention,
  /** Up to the last 12 drills including this one, oldest first. */
  history: z.array(HistoryEntry).max(12),
  nextDrillDue: IsoDate,
  /** How to reach the Data Protection Officer. */
  dpoContact: z.string().min(1),
  ledger: Ledger,
  // Wording last, in this order (the transform below rebuilds it so), so that
  // serialize(parse(serialize(x))) is byte-identical.
  controls: z.array(Control).optional(),
  breachAssessment: z.string().min(1).optional(),
  /** The rule the breach row cites; records without it used NDPA_WORDING. */
  breachRef: z.string().min(1).optional(),
  /** Beside the retention policy (`{years}` = its length); records without it used NDPA_WORDING. */
  retentionNote: z.string().min(1).optional(),
  signoff: z.array(SignoffRole).optional(),
});

/**
 * The evidence schema. Parsing fills the wording (`controls`, `breachAssessment`, `breachRef`,
 * `retentionNote`, `signoff`) when absent, so the written JSON always states the wording the report
 * used; records from before the wording was configurable get the NDPA set they were rendered with.
 */
export const DrillEvidence = DrillEvidenceObject.superRefine((e, ctx) => {
  if ((e.backup === undefined) === (e.pitr === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['backup'], message: 'a drill record has either `backup` (a dump drill) or `pitr` (a point-in-time drill)' });
  }
  if (Date.parse(e.finishedAt) < Date.parse(e.startedAt)) {
    ctx.addIssue({ code: 'custom', path: ['finishedAt'], message: 'finishedAt is before startedAt' });
  }
  const ids = new Set<string>();
  e.checks.forEach((check, i) => {
    if (ids.has(check.id)) ctx.addIssue({ code: 'custom', path: ['checks', i, 'id'], message: `duplicate check id "${check.id}"` });
    ids.add(check.id);
  });
  const failed = e.checks.some((c) => c.status === 'fail');
  if (e.verdict === 'PASS' && failed) {
    ctx.addIssue({ code: 'custom', path: ['verdict'], message: 'verdict is PASS but at least one check failed' });
  }
  const last = e.history.at(-1);
  if (last && last.drillId !== e.drillId) {
    ctx.addIssue({ code: 'custom', path: ['history'], message: 'the last history entry must be this drill' });
  }
  if (e.ledger.previousDrillId === e.drillId) {
    ctx.addIssue({ code: 'custom', path: ['ledger', 'previousDrillId'], message: 'a drill cannot be its own predecessor' });
  }
}).transform(({ controls, breachAssessment, breachRef, retentionNote, signoff, ...rest }) => ({
  ...rest,
  controls: controls ?? NDPA_WORDING.controls,
  breachAssessment: breachAssessment ?? NDPA_WORDING.breachAssessment(rest.verdict),
  breachRef: breachRef ?? NDPA_WORDING.breachRef,
  retentionNote: retentionNote ?? NDPA_WORDING.retentionNote,
  signoff: signoff ?? defaultSignoff(),
}));

/** What a record tested, dump or point-in-time: the backup's id (a pgBackRest set's label) and the database. */
export function testedBackup(e: Pick<z.output<typeof DrillEvidenceObject>, 'backup' | 'pitr'>): { id: string; database: string } {
  if (e.backup) return { id: e.backup.id, database: e.backup.database };
  return { id: e.pitr!.backupSet.label, database: e.pitr!.database };
}

/** Parsed evidence (defaults filled). */
export type DrillEvidence = z.output<typeof DrillEvidence>;
/** Evidence as a drill engine builds it (optional wording may be left out). */
export type DrillEvidenceInput = z.input<typeof DrillEvidence>;

/**
 * Validates evidence from JSON text, a Buffer or an already-parsed value. Throws ReportError
 * listing every problem by path.
 */
export function parseEvidence(json: unknown, source = 'drill evidence'): DrillEvidence {
  let value = json;
  if (typeof json === 'string' || Buffer.isBuffer(json)) {
    try {
      value = JSON.parse(json.toString());
    } catch (error) {
      throw new ReportError(`${source} is not valid JSON: ${(error as Error).message}`, {
        hint: 'Pass the .json evidence file a drill wrote (reports/YYYY-MM/drill-….json)',
        cause: error,
      });
    }
  }
  const result = DrillEvidence.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => `  - ${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`);
    throw new ReportError(
      `${source} does not match the evidence schema (formatVersion ${EVIDENCE_FORMAT_VERSION}); fix these fields or re-run the drill:\n${issues.join('\n')}`,
      { cause: result.error },
    );
  }
  return result.data;
}

/** The exact bytes written to `{drillId}.json`: pretty JSON plus a final newline. These are hashed and signed. */
export function serializeEvidence(evidence: DrillEvidence): Buffer {
  return Buffer.from(`${JSON.stringify(evidence, null, 2)}\n`, 'utf8');
}
