import { defineCheck } from '../src/check/index.ts';

export default defineCheck({
  id: 'redis-keyspace',
  title: "The Redis snapshot loads and holds the keys recorded at backup time",
  description:
    "The backup's RDB snapshot is verified, decrypted and loaded into a throwaway redis-server; each logical database must hold every key recorded by INFO keyspace at backup time, less at most the keys that had an expiry (they may have expired since).",
  needsDatabase: false,
  async run({ manifest, state }) {
    if (!manifest.redis) return { status: 'skip', summary: 'this backup has no Redis snapshot (backup.redis)' };
    const outcome = state.redis;
    if (!outcome) return { status: 'skip', summary: 'not restored by this drill' };
    if (outcome.error || !outcome.restored) return { status: 'fail', summary: `the Redis snapshot did not load: ${outcome.error ?? 'no keyspace read'}`, evidence: { ...outcome } };
    const restored = new Map(outcome.restored.map((d) => [d.db, d.keys]));
    const recorded = [...outcome.expected, ...(outcome.expectedAfter ?? [])];
    const dbs = [...new Set([...recorded.map((d) => d.db), ...restored.keys()])].sort((a, b) => a - b);
    const lines: string[] = [];
    const failures: string[] = [];
    for (const db of dbs) {
      // Before and after the transfer: the snapshot lies between them.
      const views = [outcome.expected, outcome.expectedAfter].filter((v) => v !== undefined).map((v) => v.find((d) => d.db === db) ?? { db, keys: 0, expires: 0 });
      const most = Math.max(...views.map((v) => v.keys));
      const least = Math.min(...views.map((v) => v.keys - v.expires));
      const got = restored.get(db) ?? 0;
      const expected = views.length > 1 && views[0]!.keys !== views[1]!.keys ? `${views[0]!.keys}–${views[1]!.keys}` : String(most);
      const withTtl = Math.max(...views.map((v) => v.expires));
      const line = `db${db} ${got.toLocaleString('en')} of ${expected} keys${withTtl > 0 && got < most ? ` (${withTtl} had an expiry)` : ''}`;
      lines.push(line);
      if (got < least || got > most) failures.push(line);
    }
    const evidence = { expected: outcome.expected, expectedAfter: outcome.expectedAfter ?? null, restored: outcome.restored, serverVersion: outcome.serverVersion ?? null, object: manifest.redis.object.key };
    if (failures.length > 0) return { status: 'fail', summary: `key counts differ: ${failures.join('; ')}`, evidence };
    return { status: 'pass', summary: `${lines.join('; ') || 'no keys'} restored into redis-server ${outcome.serverVersion ?? ''}`.trim(), evidence };
  },
});
