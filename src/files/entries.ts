import { StringDecoder } from 'node:string_decoder';
import { IntegrityError } from '../errors/index.ts';
import { compareKeys } from '../storage/index.ts';

// A file manifest: one line of JSON per file, sorted by key in UTF-8 byte order (the order S3 and
// the folder store list keys, and PostgreSQL's "C" collation sorts text), so that it can be merged
// against a listing, the previous backup's manifest or the keys a database refers to without ever
// being held in memory.

/** One file of a file set as a backup saw it. */
export interface FileEntry {
  /** Key relative to the file set's source (an S3 key under its prefix, a path under its folder). */
  key: string;
  /** Plaintext bytes. */
  size: number;
  /** SHA-256 of the content: also where it is stored (contentKey). */
  sha256: string;
  /** Last modified time from the source listing (ISO 8601, UTC). */
  mtime: string;
}

const SHA256 = /^[0-9a-f]{64}$/;

/** The manifest line of an entry (fields in a fixed order). */
export function entryLine(entry: FileEntry): string {
  return `${JSON.stringify({ key: entry.key, size: entry.size, sha256: entry.sha256, mtime: entry.mtime })}\n`;
}

function parseEntry(line: string, where: () => string): FileEntry {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new IntegrityError(`${where()} is not JSON`, { hint: 'The file manifest is damaged; use another backup' });
  }
  const e = value as Partial<FileEntry> | null;
  if (
    !e ||
    typeof e.key !== 'string' ||
    e.key === '' ||
    typeof e.size !== 'number' ||
    !Number.isSafeInteger(e.size) ||
    e.size < 0 ||
    typeof e.sha256 !== 'string' ||
    !SHA256.test(e.sha256) ||
    typeof e.mtime !== 'string'
  ) {
    throw new IntegrityError(`${where()} is not a file entry ({ key, size, sha256, mtime })`, { hint: 'The file manifest is damaged; use another backup' });
  }
  return { key: e.key, size: e.size, sha256: e.sha256, mtime: e.mtime };
}

/**
 * The entries of a file manifest read as a stream, checked one by one: each line a valid entry,
 * keys strictly ascending. `label` names the manifest in errors.
 */
export async function* readEntries(source: AsyncIterable<Buffer | string>, label: string): AsyncGenerator<FileEntry> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let lineNo = 0;
  let previous: string | undefined;
  const where = () => `line ${lineNo} of file manifest ${label}`;
  const take = (line: string): FileEntry => {
    lineNo += 1;
    const entry = parseEntry(line, where);
    if (previous !== undefined && compareKeys(previous, entry.key) >= 0) {
      throw new IntegrityError(`${where()} is out of order (${JSON.stringify(entry.key)} after ${JSON.stringify(previous)})`, { hint: 'The file manifest is damaged; use another backup' });
    }
    previous = entry.key;
    return entry;
  };
  for await (const chunk of source) {
    rest += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let start = 0;
    for (let end = rest.indexOf('\n'); end !== -1; end = rest.indexOf('\n', start)) {
      yield take(rest.slice(start, end));
      start = end + 1;
    }
    rest = rest.slice(start);
  }
  rest += decoder.end();
  if (rest !== '') yield take(rest);
}
