// A backup manifest that validates, for unit tests: app_db, taken 2026-11-23 01:00 UTC, encrypted
// with key k2026, no tables; override any field.
import { BackupManifest, type BackupManifest as Manifest } from '../../src/catalog/index.ts';

export const TEST_SHA = 'b'.repeat(64);

export function testManifest(overrides: Partial<Manifest> = {}): Manifest {
  const id = overrides.id ?? '2026-11-23-app_db';
  const tier = overrides.tier ?? 'daily';
  return BackupManifest.parse({
    formatVersion: 1,
    id,
    tier,
    database: 'app_db',
    source: { host: 'db.internal', port: 5432, user: 'backup' },
    serverVersion: '15.8',
    serverMajor: 15,
    pgDumpVersion: '15.8',
    toolVersion: '0.1.0',
    format: 'custom',
    compression: { algorithm: 'zstd', level: 1 },
    encryption: { algorithm: 'aes-256-gcm-stream-v1', keyId: 'k2026', chunkSize: 1_048_576 },
    objects: { dump: { key: `backups/${tier}/${id}.dump.zst.enc`, size: 2_048, sha256: TEST_SHA, plaintextSize: 8_192, plaintextSha256: TEST_SHA } },
    options: { schemaOnly: false, tables: [], excludeTables: ['*._prisma_migrations'] },
    startedAt: '2026-11-23T01:00:00.000Z',
    finishedAt: '2026-11-23T01:02:00.000Z',
    durationMs: 120_000,
    tables: [],
    auditChain: null,
    roles: [],
    rolePasswords: false,
    schemaFingerprint: TEST_SHA,
    ...overrides,
  });
}
