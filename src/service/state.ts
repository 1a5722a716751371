import type { Redis } from 'ioredis';
import type { JobKind } from '../notify/index.ts';

export const JOB_KINDS = ['backup', 'drill', 'verify', 'prune', 'pitr-mark'] as const satisfies readonly JobKind[];

// What the service remembers between jobs, in the shared Redis so every worker sees it: per
// database and job kind the final failures in a row (for escalation) and the runs by result; the
// monitors currently firing (one notification per episode); notifications that could not be sent.

export class ServiceState {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = `${prefix}:state`;
  }

  #jobKey(database: string, kind: JobKind): string {
    return `${this.#prefix}:job:${database}:${kind}`;
  }

  /** A run succeeded: the failures in a row it ends (0 when none). */
  async recordSuccess(database: string, kind: JobKind): Promise<{ endedFailures: number }> {
    const key = this.#jobKey(database, kind);
    const results = await this.#redis.multi().hget(key, 'consecutive').hset(key, 'consecutive', 0).hincrby(key, 'success', 1).exec();
    return { endedFailures: Number(results?.[0]?.[1] ?? 0) };
  }

  /** A run failed for good (its last attempt): the failures in a row now. */
  async recordFinalFailure(database: string, kind: JobKind): Promise<{ consecutive: number }> {
    const key = this.#jobKey(database, kind);
    const results = await this.#redis.multi().hincrby(key, 'consecutive', 1).hincrby(key, 'failure', 1).exec();
    return { consecutive: Number(results?.[0]?.[1] ?? 1) };
  }

  async jobCounts(database: string): Promise<{ consecutiveFailures: Record<JobKind, number>; runs: Record<JobKind, { success: number; failure: number }> }> {
    const consecutiveFailures = {} as Record<JobKind, number>;
    const runs = {} as Record<JobKind, { success: number; failure: number }>;
    for (const kind of JOB_KINDS) {
      const values = await this.#redis.hgetall(this.#jobKey(database, kind));
      consecutiveFailures[kind] = Number(values.consecutive ?? 0);
      runs[kind] = { success: Number(values.success ?? 0), failure: Number(values.failure ?? 0) };
    }
    return { consecutiveFailures, runs };
  }

  /** Monitors firing at the last evaluation, as `database:monitor` keys. */
  async firingMonitors(): Promise<Set<string>> {
    return new Set(await this.#redis.smembers(`${this.#prefix}:monitors`));
  }

  async setFiringMonitors(keys: Iterable<string>): Promise<void> {
    const key = `${this.#prefix}:monitors`;
    const list = [...keys];
    const tx = this.#redis.multi().del(key);
    if (list.length) tx.sadd(key, ...list);
    await tx.exec();
  }

  async countNotificationFailure(notifier: string): Promise<void> {
    await this.#redis.hincrby(`${this.#prefix}:notify-failures`, notifier, 1);
  }

  async notificationFailures(): Promise<Record<string, number>> {
    const values = await this.#redis.hgetall(`${this.#prefix}:notify-failures`);
    return Object.fromEntries(Object.entries(values).map(([name, n]) => [name, Number(n)]));
  }
}
