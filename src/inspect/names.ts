// Table names as PostgreSQL and pg_dump spell them: quoting, display, collision-free keys, and
// psql's pattern rules for --table / --exclude-table.

export interface TableRef {
  schema: string;
  name: string;
}

export const qualifiedName = (t: TableRef): string => `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
export const displayName = (t: TableRef): string => `${t.schema}.${t.name}`;
/** A collision-free key for maps and sets (`"a.b"."c"` and `"a"."b.c"` differ). */
export const tableKey = (t: TableRef): string => JSON.stringify([t.schema, t.name]);

export function quoteIdent(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** Splits `schema.table` (either part may be "quoted") into a reference; default schema public. */
export function parseTableName(name: string): TableRef {
  const parts = splitPattern(name);
  return parts.length === 1 ? { schema: 'public', name: parts[0]! } : { schema: parts[0]!, name: parts.slice(1).join('.') };
}

/** A qualified name split at unquoted dots; unquoted parts fold to lower case, quotes removed. */
function splitPattern(pattern: string): string[] {
  return patternParts(pattern, (ch, quoted) => (quoted ? ch : ch.toLowerCase()));
}

const REGEX_SPECIAL = /[.*+?^${}()|[\]\\]/;

/**
 * psql's pattern rules (as pg_dump -t/-T applies them), per dot-separated part, as a regex:
 * outside double quotes `*` is any text, `?` one character, `$` literal, letters fold to lower
 * case and other regex syntax works; inside quotes everything is literal and case is kept.
 */
function patternRegexes(pattern: string): RegExp[] {
  const translate = (ch: string, quoted: boolean) => {
    if (quoted) return REGEX_SPECIAL.test(ch) ? `\\${ch}` : ch;
    if (ch === '*') return '.*';
    if (ch === '?') return '.';
    if (ch === '$') return '\\$';
    return ch.toLowerCase();
  };
  return patternParts(pattern, translate).map((part) => new RegExp(`^(?:${part})$`, 'u'));
}

/** Splits at unquoted dots, mapping each character with whether it stood inside double quotes. */
function patternParts(pattern: string, map: (ch: string, quoted: boolean) => string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '"') {
      if (quoted && pattern[i + 1] === '"') {
        current += map('"', true);
        i++;
      } else quoted = !quoted;
    } else if (ch === '.' && !quoted) {
      parts.push(current);
      current = '';
    } else current += map(ch, quoted);
  }
  parts.push(current);
  return parts;
}

/** Whether a table matches a pg_dump -t/-T pattern; unqualified patterns match visible schemas. */
export function matchesPattern(table: TableRef, pattern: string, visibleSchemas: readonly string[]): boolean {
  const parts = patternRegexes(pattern);
  if (parts.length === 1) return visibleSchemas.includes(table.schema) && parts[0]!.test(table.name);
  // psql takes the last two parts as schema and name (a leading database part is ignored).
  return parts.at(-2)!.test(table.schema) && parts.at(-1)!.test(table.name);
}
