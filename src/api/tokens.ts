import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { API_TOKEN_ENTRY } from '../config/index.ts';
import { ConfigError } from '../errors/index.ts';

// Who may use the API: bearer tokens, stored only as SHA-256 hashes (`name:role:sha256hex` in
// PGDRILL_API_TOKENS), and for the page optionally one admin password, stored as a bcrypt hash.
// A token is 32 random bytes, so a fast hash is enough; a password is not, hence bcrypt.

export type Role = 'admin' | 'viewer';

export interface TokenEntry {
  name: string;
  role: Role;
  /** SHA-256 (hex) of the token. */
  sha256: string;
}

/** Who a request acts as. `credential` fingerprints what it logged in with (a session ends when that is withdrawn). */
export interface Principal {
  name: string;
  role: Role;
  credential: string;
}

const TOKEN_PREFIX = 'pgdrill_';

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/** A new token and the entry to add to PGDRILL_API_TOKENS (`pgdrill tokens create`). */
export function createApiToken(name: string, role: Role): { token: string; entry: string } {
  const entry = `${name}:${role}:`;
  if (!API_TOKEN_ENTRY.test(`${entry}${'0'.repeat(64)}`)) {
    throw new ConfigError(`Token name ${JSON.stringify(name)} or role ${JSON.stringify(role)} is not valid`, {
      hint: 'Use a name of 1-64 letters, digits, "_", ".", "@" or "-", and --role admin or viewer',
    });
  }
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { token, entry: `${entry}${sha256Hex(token)}` };
}

/** The configured entries (validated by the config schema); a name listed twice is a configuration error. */
export function parseTokenEntries(entries: readonly string[]): TokenEntry[] {
  const seen = new Set<string>();
  return entries.map((line) => {
    const [name, role, sha256] = line.split(':') as [string, Role, string];
    if (seen.has(name)) throw new ConfigError(`PGDRILL_API_TOKENS lists the token name "${name}" twice`, { hint: 'Give every token its own name' });
    seen.add(name);
    return { name, role, sha256 };
  });
}

/** The entry a presented token matches, compared in constant time over every entry. */
export function findToken(entries: readonly TokenEntry[], token: string): TokenEntry | undefined {
  const presented = Buffer.from(sha256Hex(token), 'hex');
  let found: TokenEntry | undefined;
  for (const entry of entries) if (timingSafeEqual(presented, Buffer.from(entry.sha256, 'hex'))) found = entry;
  return found;
}

export function tokenPrincipal(entry: TokenEntry): Principal {
  return { name: entry.name, role: entry.role, credential: `token:${entry.sha256}` };
}

/** The page's password login acts as this admin. */
export function passwordPrincipal(passwordHash: string): Principal {
  return { name: 'admin (password)', role: 'admin', credential: `password:${sha256Hex(passwordHash)}` };
}

/** Whether the credential a session was opened with is still configured (a withdrawn token or changed password ends its sessions). */
export function credentialStillValid(credential: string, entries: readonly TokenEntry[], passwordHash: string | undefined): boolean {
  if (credential.startsWith('token:')) return entries.some((e) => `token:${e.sha256}` === credential);
  return passwordHash !== undefined && credential === `password:${sha256Hex(passwordHash)}`;
}

export function checkPassword(password: string, passwordHash: string): Promise<boolean> {
  return bcrypt.compare(password, passwordHash);
}

/** A bcrypt hash (cost 12) for service.api.passwordHash (`pgdrill tokens password`). */
export function hashPassword(password: string): Promise<string> {
  if (password.length < 12) {
    throw new ConfigError('The password is shorter than 12 characters', { hint: 'Choose a longer passphrase; it guards every backup' });
  }
  return bcrypt.hash(password, 12);
}
