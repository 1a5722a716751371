import type { PgRestoreError, RestoreCause } from '../pgtools/index.ts';
import type { ArchiveListing } from './archive.ts';

// What a restore that ran to its end with errors lost: each pg_restore error resolved to the
// object its archive entry creates or fills. pg_restore names an entry by dump id, description,
// tag and owner but not its schema; `pg_restore --list` of the same archive has the schema.

/** One archive entry pg_restore could not restore. */
export interface RestoreObjectFailure {
  /** Dump id of the entry; null for an error outside any entry. */
  tocId: number | null;
  /** pg_dump's description of the entry: `TABLE DATA`, `INDEX`, `CONSTRAINT`, `ACL`, … ('' when unknown). */
  kind: string;
  /** Null for objects outside a schema, or when the archive could not be listed. */
  schema: string | null;
  /** The entry's tag: a table or index name; `table constraint` for constraints and triggers. */
  name: string;
  /** pg_restore's first line of the error (no row data). */
  message: string;
  /** The function the failing statement ran in, when the server named one. */
  context?: string;
  cause: RestoreCause;
  causeObject?: string;
}

/** pg_dump's entry descriptions of more than one word; any other is its first word. */
const MULTI_WORD_KINDS = [
  'MATERIALIZED VIEW DATA',
  'PUBLICATION TABLES IN SCHEMA',
  'TEXT SEARCH CONFIGURATION',
  'TEXT SEARCH DICTIONARY',
  'TEXT SEARCH TEMPLATE',
  'TEXT SEARCH PARSER',
  'FOREIGN DATA WRAPPER',
  'DATABASE PROPERTIES',
  'PROCEDURAL LANGUAGE',
  'MATERIALIZED VIEW',
  'PUBLICATION TABLE',
  'SEQUENCE OWNED BY',
  'CHECK CONSTRAINT',
  'OPERATOR FAMILY',
  'OPERATOR CLASS',
  'SECURITY LABEL',
  'ACCESS METHOD',
  'EVENT TRIGGER',
  'FK CONSTRAINT',
  'FOREIGN TABLE',
  'INDEX ATTACH',
  'LARGE OBJECT',
  'ROW SECURITY',
  'SEQUENCE SET',
  'TABLE ATTACH',
  'USER MAPPING',
  'DEFAULT ACL',
  'SHELL TYPE',
  'TABLE DATA',
  'BLOB DATA',
];

/** Splits pg_restore's `DESC TAG OWNER` into the description and `TAG OWNER`. */
function splitEntry(entry: string): { kind: string; rest: string } {
  const kind = MULTI_WORD_KINDS.find((k) => entry.startsWith(`${k} `)) ?? entry.split(' ')[0] ?? '';
  return { kind, rest: entry.slice(kind.length + 1) };
}

/** `TAG OWNER` → TAG (the owner is the last word, `(no owner)`, or empty after a trailing space). */
function withoutOwner(rest: string): string {
  if (rest.endsWith(' (no owner)')) return rest.slice(0, -' (no owner)'.length);
  const space = rest.lastIndexOf(' ');
  return space < 0 ? rest : rest.slice(0, space);
}

/** Resolves each error to its object; the listing (same archive) supplies the schemas. */
export function resolveRestoreErrors(errors: readonly PgRestoreError[], listing?: ArchiveListing): RestoreObjectFailure[] {
  const byId = new Map(listing?.entries.map((e) => [e.id, e.text]));
  return errors.map((error) => {
    const { kind, rest } = error.entry ? splitEntry(error.entry) : { kind: '', rest: '' };
    const listed = error.tocId === null ? undefined : byId.get(error.tocId);
    // The listing prints `DESC SCHEMA TAG OWNER` for the entry the error printed as `DESC TAG OWNER`.
    let schema: string | null = null;
    if (listed && listed.startsWith(`${kind} `) && listed.endsWith(` ${rest}`)) {
      const between = listed.slice(kind.length + 1, listed.length - rest.length - 1);
      schema = between === '-' ? null : between;
    }
    return {
      tocId: error.tocId,
      kind,
      schema,
      name: withoutOwner(rest),
      message: error.message,
      ...(error.context ? { context: error.context } : {}),
      cause: error.cause,
      ...(error.causeObject ? { causeObject: error.causeObject } : {}),
    };
  });
}

/** Kinds whose entry creates an object: a failure means the object is missing. */
const CREATES = new Set([
  'TABLE', 'INDEX', 'CONSTRAINT', 'FK CONSTRAINT', 'CHECK CONSTRAINT', 'TRIGGER', 'VIEW', 'MATERIALIZED VIEW', 'SEQUENCE', 'FUNCTION',
  'PROCEDURE', 'AGGREGATE', 'TYPE', 'DOMAIN', 'SCHEMA', 'EXTENSION', 'POLICY', 'RULE', 'COLLATION', 'FOREIGN TABLE', 'EVENT TRIGGER',
]);

/** The object, schema-qualified when known: `public.idx_tariff`. */
export function failedObjectName(failure: Pick<RestoreObjectFailure, 'schema' | 'name'>): string {
  return failure.schema ? `${failure.schema}.${failure.name}` : failure.name;
}

/** The server's reason without pg_restore's framing: `relation "tariffs" does not exist`. */
export function failureReason(failure: Pick<RestoreObjectFailure, 'message'>): string {
  const server = /ERROR:\s+(.*)$/.exec(failure.message)?.[1];
  return (server ?? failure.message).trim();
}

/** One line of damage: `index public.idx_tariff missing`, `privileges on TABLE shipments not restored`. */
export function describeRestoreFailure(failure: RestoreObjectFailure): string {
  const object = failedObjectName(failure);
  if (failure.kind === 'TABLE DATA') return `rows of ${object} not restored`;
  if (CREATES.has(failure.kind)) return `${failure.kind.toLowerCase()} ${object} missing`;
  if (failure.kind === 'ACL' || failure.kind === 'COMMENT') {
    // Their tag names the object's kind first: `TABLE shipments`.
    const space = failure.name.indexOf(' ');
    const target = space < 0 ? object : `${failure.name.slice(0, space).toLowerCase()} ${failedObjectName({ schema: failure.schema, name: failure.name.slice(space + 1) })}`;
    return `${failure.kind === 'ACL' ? 'privileges on' : 'comment on'} ${target} not restored`;
  }
  if (!failure.kind) return 'an error outside any archive entry';
  return `${failure.kind.toLowerCase()} ${object} failed`;
}
