import { defineCheck, type FileSetOutcome } from '../src/check/index.ts';
import { compareReferences, localEntries, type ReferenceComparison } from '../src/files/index.ts';
import { referencedKeys } from '../src/inspect/index.ts';

const count = (n: number) => n.toLocaleString('en');
const keys = (list: readonly string[], total: number) => `${list.map((k) => JSON.stringify(k)).join(', ')}${total > list.length ? ', …' : ''}`;

interface SetVerdict {
  name: string;
  status: 'pass' | 'warn' | 'fail';
  summary: string;
  evidence: Record<string, unknown>;
}

export default defineCheck({
  id: 'file-references',
  title: 'Every file the restored rows refer to is in the backup; stored files verify',
  description:
    "Each file set's referencesQuery runs on the restored database; every key it returns must be in the backup's file manifest (missing keys fail, files no row refers to warn). A sample of stored contents (drill.fileSample; all with --full) is downloaded, decrypted and hashed against the manifest.",
  needsDatabase: false,
  async run({ db, manifest, state }) {
    const sets = state.fileSets ?? [];
    if (!manifest.files?.length) return { status: 'skip', summary: 'this backup has no file set (backup.files)' };
    const verdicts: SetVerdict[] = [];
    for (const set of sets) verdicts.push(await judge(set, db ? (query) => referencedKeys(db, query) : undefined, state.restore.failedStage));
    const status = verdicts.some((v) => v.status === 'fail') ? 'fail' : verdicts.some((v) => v.status === 'warn') ? 'warn' : 'pass';
    return { status, summary: verdicts.map((v) => `${v.name}: ${v.summary}`).join('; '), evidence: { fileSets: verdicts.map((v) => ({ name: v.name, status: v.status, ...v.evidence })) } };
  },
});

async function judge(set: FileSetOutcome, query: ((sql: string) => AsyncIterable<string>) | undefined, failedStage: string | undefined): Promise<SetVerdict> {
  const sample = set.sample;
  const evidence: Record<string, unknown> = { source: set.source, files: set.files, contents: set.contents, sample: { ...sample, failures: sample.failures.map((f) => f.key) } };
  if (set.error || !set.manifestPath) return { name: set.name, status: 'fail', summary: `file manifest not readable: ${set.error ?? 'not fetched'}`, evidence };
  const problems: string[] = [];
  const notes: string[] = [];
  const verifiedText = `${count(sample.verified)} of ${count(set.files)} stored files verified${sample.full ? ' (all)' : ' (sample)'}`;
  if (sample.failed > 0) {
    problems.push(`${count(sample.failed)} stored file(s) missing or damaged (${keys(sample.failures.map((f) => f.key).slice(0, 5), sample.failed)}): ${sample.failures[0]!.error}`);
  }

  let references: ReferenceComparison | undefined;
  if (!set.referencesQuery) notes.push('no referencesQuery configured: references not checked');
  else if (!query) notes.push(`references not checked: the restore failed at the ${failedStage ?? 'restore'} stage`);
  else {
    try {
      references = await compareReferences(query(set.referencesQuery), localEntries(set.manifestPath, set.name));
    } catch (error) {
      problems.push(`referencesQuery failed on the restored database: ${(error as Error).message}`);
    }
  }
  if (references) {
    evidence.references = references;
    if (references.missing > 0) problems.push(`${count(references.missing)} referenced key(s) missing from the file manifest (${keys(references.missingKeys, references.missing)})`);
    if (references.unreferenced > 0) notes.push(`${count(references.unreferenced)} file(s) no row refers to (${keys(references.unreferencedKeys, references.unreferenced)})`);
  }
  const referenceText = references ? `${count(references.referenced)} referenced key(s)${references.missing === 0 ? ', all present' : ''}` : undefined;
  const text = [...problems, ...(referenceText && problems.length === 0 ? [referenceText] : []), verifiedText, ...notes].join('; ');
  const status = problems.length > 0 ? 'fail' : references && references.unreferenced > 0 ? 'warn' : 'pass';
  return { name: set.name, status, summary: text, evidence };
}
