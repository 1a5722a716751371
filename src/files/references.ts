import { compareKeys } from '../storage/index.ts';
import type { FileEntry } from './entries.ts';

// The keys a database refers to against a file manifest, both ascending by UTF-8 bytes: one merge,
// nothing held in memory but the first few keys of each kind (for the report: keys only).

export interface ReferenceComparison {
  /** Distinct keys the database refers to. */
  referenced: number;
  /** Referenced keys with no file in the manifest: the restore would leave these rows pointing at nothing. */
  missing: number;
  missingKeys: string[];
  /** Files no row refers to (orphaned uploads, or a query that does not cover every table). */
  unreferenced: number;
  unreferencedKeys: string[];
}

export async function compareReferences(referenced: AsyncIterable<string>, entries: AsyncIterable<FileEntry>, keep = 5): Promise<ReferenceComparison> {
  const result: ReferenceComparison = { referenced: 0, missing: 0, missingKeys: [], unreferenced: 0, unreferencedKeys: [] };
  const files = entries[Symbol.asyncIterator]();
  let file = await files.next();
  const unreferenced = (key: string) => {
    result.unreferenced += 1;
    if (result.unreferencedKeys.length < keep) result.unreferencedKeys.push(key);
  };
  let previous: string | undefined;
  for await (const key of referenced) {
    if (previous !== undefined && compareKeys(previous, key) >= 0) throw new Error(`referenced keys are not distinct and ascending (${JSON.stringify(key)} after ${JSON.stringify(previous)})`);
    previous = key;
    result.referenced += 1;
    while (!file.done && compareKeys(file.value.key, key) < 0) {
      unreferenced(file.value.key);
      file = await files.next();
    }
    if (!file.done && file.value.key === key) {
      file = await files.next();
      continue;
    }
    result.missing += 1;
    if (result.missingKeys.length < keep) result.missingKeys.push(key);
  }
  for (; !file.done; file = await files.next()) unreferenced(file.value.key);
  return result;
}
