export {
  DEFAULT_TIME_ZONE,
  DrillEvidence,
  EVIDENCE_FORMAT_VERSION,
  defaultBreachAssessment,
  defaultControls,
  defaultSignoff,
  parseEvidence,
  serializeEvidence,
} from './evidence.ts';
export type {
  BackupUnderTest,
  CheckResult,
  CheckStatus,
  Control,
  CorrectiveAction,
  DrillEvidenceInput,
  HistoryEntry,
  Ledger,
  OlderBackup,
  Retention,
  SignoffNames,
  SignoffRole,
  TableReconciliation,
  TimelineEntry,
  Timings,
  Verdict,
} from './evidence.ts';
export {
  drillsPrefix,
  generateSigningKey,
  hashEvidence,
  historyWith,
  nextLedger,
  publicKeyFingerprint,
  publishReport,
  readDrillHistory,
  signEvidence,
  signatureSidecar,
  verifyEvidenceSignature,
  verifyReports,
} from './ledger.ts';
export type {
  PublishedReport,
  ReadHistoryOptions,
  RecordProblem,
  RecordProblemKind,
  ReportPaths,
  SignatureSidecar,
  SignatureState,
  StoredDrillRecord,
  VerifiedRecord,
  VerifyReportsOptions,
  VerifyReportsResult,
} from './ledger.ts';
export { CHROMIUM_ARGS, DEFAULT_TEMPLATES_DIR, renderReport, renderReportHtml, rerenderReport, resolveChromium } from './render.ts';
export type { HtmlOptions, RenderOptions, RenderResult } from './render.ts';
export { redactPersonalData } from './format.ts';
