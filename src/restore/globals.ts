// Role globals from `pg_dumpall --roles-only`, adapted to a target that already has some roles
// (a sandbox's own superuser, or a production cluster's existing roles): statements that would
// create or alter an existing role are dropped, so passwords of existing roles are never reset.

const ROLE_STATEMENT = /^(?:CREATE|ALTER) ROLE ((?:"(?:[^"]|"")+")|[^\s;]+)/;

function unquote(identifier: string): string {
  return identifier.startsWith('"') ? identifier.slice(1, -1).replaceAll('""', '"') : identifier;
}

export function filterGlobals(sql: string, existingRoles: ReadonlySet<string>): string {
  return sql
    .split('\n')
    .filter((line) => {
      const match = ROLE_STATEMENT.exec(line);
      return !match || !existingRoles.has(unquote(match[1]!));
    })
    .join('\n');
}
