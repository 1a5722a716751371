import bcrypt from 'bcryptjs';
import pg from 'pg';
import { parseTableName, qualifiedName, quoteIdent, readRoles, tableKey, type TableRef } from '../src/inspect/index.ts';
import { defineCheck, type DrillState } from '../src/check/index.ts';

/**
 * Login roles (drill.loginRoles) sign in to the restored server with their passwords, and each
 * application role's canary account's password verifies against its restored hash. Problems are
 * pushed to `problems`; returns how many of each were verified.
 */
async function authenticate(client: pg.ClientBase, state: DrillState, tables: readonly TableRef[], problems: string[]): Promise<{ loginsVerified: number; canariesVerified: number }> {
  let loginsVerified = 0;
  let canariesVerified = 0;
  for (const login of state.config.drill.loginRoles) {
    const password = process.env[login.passwordEnv];
    if (!password) {
      problems.push(`login role ${login.name}: ${login.passwordEnv} is not set`);
      continue;
    }
    // The sandbox's own address (TCP, or a socket folder), signed in as the login role.
    const url = new URL(state.sandbox!.uri);
    url.username = encodeURIComponent(login.name);
    url.password = encodeURIComponent(password);
    const probe = new pg.Client({ connectionString: url.toString() });
    try {
      await probe.connect();
      await probe.query('SELECT 1');
      loginsVerified++;
    } catch (error) {
      problems.push(`login role ${login.name} cannot authenticate: ${(error as Error).message}`);
    } finally {
      await probe.end().catch(() => {});
    }
  }
  const canaries = state.config.drill.canaries;
  const canaryTable = canaries && parseTableName(canaries.table);
  // Canaries live in a table of the restored database; without it (another database, --tables, schema-only) they do not apply.
  if (canaries && canaryTable && tables.some((t) => tableKey(t) === tableKey(canaryTable))) {
    const password = process.env[canaries.passwordEnv];
    if (!password) problems.push(`canary accounts: ${canaries.passwordEnv} is not set`);
    else {
      const table = qualifiedName(canaryTable);
      for (const role of canaries.roles) {
        const username = canaries.usernameTemplate.replaceAll('{role}', role);
        const { rows } = await client.query<{ hash: string | null }>(
          `SELECT ${quoteIdent(canaries.hashColumn)}::text AS hash FROM ${table} WHERE ${quoteIdent(canaries.usernameColumn)}::text = $1 AND ${quoteIdent(canaries.roleColumn)}::text = $2`,
          [username, role],
        );
        if (rows.length === 0 || !rows[0]!.hash) problems.push(`canary account for role ${role} is missing`);
        else if (!(await bcrypt.compare(password, rows[0]!.hash))) problems.push(`canary password for role ${role} does not verify against its restored hash`);
        else canariesVerified++;
      }
    }
  }
  return { loginsVerified, canariesVerified };
}

export default defineCheck({
  id: 'role-authentication',
  title: 'Roles, memberships and privileges restored; accounts authenticate',
  description: "Roles, memberships and table privileges restored; login roles and one canary account per application role authenticate. No secret is printed.",
  // Point in time: no record of the roles at the target to compare with; the accounts must still sign in.
  async pointInTime({ db, pitr, state }) {
    const problems: string[] = [];
    const client = await db.connect();
    try {
      const { loginsVerified, canariesVerified } = await authenticate(client, state, pitr.tables, problems);
      const roles = (await readRoles(client, [])).length;
      const evidence = { roles, loginsVerified, canariesVerified, problems };
      return problems.length
        ? { status: 'fail', summary: `${problems.length} problem(s): ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? '; …' : ''}`, evidence }
        : { status: 'pass', summary: `${roles} roles recovered; ${loginsVerified} login role(s) and ${canariesVerified} canary account(s) authenticated`, evidence };
    } finally {
      client.release();
    }
  },
  async run({ db, manifest, state }) {
    const problems: string[] = [];
    const client = await db.connect();
    let canariesVerified = 0;
    let loginsVerified = 0;
    try {
      const restored = new Map((await readRoles(client, manifest.tables)).map((r) => [r.name, r]));
      for (const role of manifest.roles) {
        const found = restored.get(role.name);
        if (!found) {
          problems.push(`role ${role.name} is missing`);
          continue;
        }
        const lostMemberships = role.memberOf.filter((m) => !found.memberOf.includes(m));
        if (lostMemberships.length) problems.push(`role ${role.name} lost membership in ${lostMemberships.join(', ')}`);
        const lostPrivileges = role.privileges.filter((p) => !found.privileges.includes(p));
        if (lostPrivileges.length) problems.push(`role ${role.name} lost ${lostPrivileges.length} table privilege(s), e.g. ${lostPrivileges[0]}`);
      }

      ({ loginsVerified, canariesVerified } = await authenticate(client, state, manifest.options.schemaOnly ? [] : manifest.tables, problems));
    } finally {
      client.release();
    }
    const evidence = { roles: manifest.roles.length, rolePasswordsCaptured: manifest.rolePasswords, loginsVerified, canariesVerified, problems };
    if (problems.length) return { status: 'fail', summary: `${problems.length} problem(s): ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? '; …' : ''}`, evidence };
    const roles = `${manifest.roles.length} roles with memberships and privileges restored`;
    if (loginsVerified + canariesVerified === 0) {
      // The "accounts authenticate" half tested nothing: say so, and what to configure.
      const canaryNote = state.config.drill.canaries ? ` (drill.canaries names ${state.config.drill.canaries.table}, which is not in this backup)` : '';
      return {
        status: 'warn',
        summary: `${roles}; no account was tested: no login role is configured and no canary account applies${canaryNote}. Add drill.loginRoles ({ name, passwordEnv }) or drill.canaries so the drill proves the application's accounts authenticate`,
        evidence,
      };
    }
    return { status: 'pass', summary: `${roles}; ${loginsVerified} login role(s) and ${canariesVerified} canary account(s) authenticated`, evidence };
  },
});
