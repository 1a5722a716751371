import { StorageError } from '../errors/index.ts';

// Key rules shared by every backend, so a key that works on one works on all: '/'-separated,
// relative, no empty, '.' or '..' segments, no NUL. (A folder backend would otherwise let `..`
// escape its root; S3 would store such keys but a later copy to a folder could not.)

/** Throws StorageError unless `key` is a valid object key. */
export function assertKey(key: string, operation: string, location: string): void {
  const problem = keyProblem(key, false);
  if (problem) {
    throw new StorageError(`${operation} ${JSON.stringify(key)} in ${location}: invalid key, ${problem}`, {
      hint: "Use a relative '/'-separated key without empty, '.' or '..' segments",
    });
  }
}

/** Like assertKey, for list prefixes: '' and a trailing '/' are allowed; a last partial segment is not checked. */
export function assertPrefix(prefix: string, location: string): void {
  const problem = keyProblem(prefix, true);
  if (problem) {
    throw new StorageError(`list ${JSON.stringify(prefix)} in ${location}: invalid prefix, ${problem}`, {
      hint: "Use '' or a relative '/'-separated prefix without empty, '.' or '..' segments",
    });
  }
}

/** Why `key` is not a valid object key (`it has a '..' segment`), or undefined when it is one. */
export function invalidKeyReason(key: string): string | undefined {
  return keyProblem(key, false);
}

function keyProblem(key: string, isPrefix: boolean): string | undefined {
  if (typeof key !== 'string') return 'not a string';
  if (key === '') return isPrefix ? undefined : 'it is empty';
  if (key.includes('\0')) return 'it contains a NUL character';
  if (key.startsWith('/')) return "it starts with '/' (absolute)";
  const segments = key.split('/');
  // For a prefix the last segment may be partial ('daily/2026-0') or empty (trailing '/').
  const complete = isPrefix ? segments.slice(0, -1) : segments;
  for (const segment of complete) {
    if (segment === '') return "it has an empty segment ('//' or a trailing '/')";
    if (segment === '.' || segment === '..') return `it has a '${segment}' segment`;
  }
  return undefined;
}

/**
 * Orders keys the way S3 lists them: by UTF-8 bytes, which is code point order (PostgreSQL's "C"
 * collation too). JS string order (UTF-16 code units) differs only where a surrogate meets a code
 * unit of U+E000 or above, so those are remapped; no buffer is allocated (merges call this a lot).
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** U+E000..U+FFFF before the surrogates, which stand for code points above U+FFFF. */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/** How an S3 bucket and key prefix are shown: `s3://bucket` or `s3://bucket/prefix`. */
export function s3Location(bucket: string, prefix: string): string {
  return prefix === '' ? `s3://${bucket}` : `s3://${bucket}/${prefix}`;
}
