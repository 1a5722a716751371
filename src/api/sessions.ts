import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import { sha256Hex, type Principal, type Role } from './tokens.ts';

// Page sessions: a random id in an HttpOnly, SameSite=Strict cookie; in Redis (shared by every
// `pgdrill serve` of the deployment) only under the id's SHA-256, with who it is, the CSRF token the
// page sends back in a header on every state-changing request, and an expiry.

export const SESSION_COOKIE = 'pgdrill_session';
export const CSRF_HEADER = 'x-csrf-token';

export interface Session extends Principal {
  csrfToken: string;
  createdAt: string;
}

export class SessionStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlSeconds: number;

  constructor(redis: Redis, queuePrefix: string, ttlSeconds: number) {
    this.#redis = redis;
    this.#prefix = `${queuePrefix}:api:session:`;
    this.#ttlSeconds = Math.max(1, Math.round(ttlSeconds));
  }

  get ttlSeconds(): number {
    return this.#ttlSeconds;
  }

  /** A new session; the returned id goes into the cookie and nowhere else. */
  async create(principal: Principal): Promise<{ id: string; session: Session }> {
    const id = randomBytes(32).toString('base64url');
    const session: Session = { ...principal, csrfToken: randomBytes(24).toString('base64url'), createdAt: new Date().toISOString() };
    await this.#redis.set(this.#prefix + sha256Hex(id), JSON.stringify(session), 'EX', this.#ttlSeconds);
    return { id, session };
  }

  async get(id: string | undefined): Promise<Session | undefined> {
    if (!id || id.length > 100) return undefined;
    const stored = await this.#redis.get(this.#prefix + sha256Hex(id));
    if (!stored) return undefined;
    const session = JSON.parse(stored) as Session;
    return isRole(session.role) ? session : undefined;
  }

  async destroy(id: string | undefined): Promise<void> {
    if (id) await this.#redis.del(this.#prefix + sha256Hex(id));
  }
}

const isRole = (role: unknown): role is Role => role === 'admin' || role === 'viewer';

/** Whether the header carries the session's CSRF token (constant time). */
export function csrfMatches(session: Session, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string') return false;
  const given = Buffer.from(header);
  const expected = Buffer.from(session.csrfToken);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
