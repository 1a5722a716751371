import { describe, expect, it } from 'vitest';
import { backupId, dataKey, isDataKey, objectExtension } from '../../src/catalog/index.ts';

describe('isDataKey: what the orphan sweep may treat as a pgdrill leftover (issue 11 item 8)', () => {
  const at = new Date('2026-11-23T01:00:00Z');

  it('accepts every data key pgdrill builds, for every tier, extension and database name', () => {
    for (const tier of ['daily', 'weekly', 'monthly'] as const) {
      for (const database of ['oslrs', 'my.db', 'Ọ̀rọ̀ notes', 'dump']) {
        for (const kind of ['dump', 'sql', 'globals.sql'] as const) {
          for (const compression of ['zstd', 'gzip', 'none'] as const) {
            for (const encrypted of [true, false]) {
              const key = dataKey('backups', tier, `${backupId(tier, at, database)}-2`, objectExtension(kind, compression, encrypted));
              expect(isDataKey('backups', tier, key), key).toBe(true);
            }
          }
        }
      }
    }
  });

  it('rejects anything else in a tier folder: other names, other tiers, deeper paths', () => {
    for (const key of [
      'backups/daily/notes.txt',
      'backups/daily/2026-11-23-oslrs.dump.zst.enc.bak',
      'backups/daily/2026-11-23-oslrs.tar',
      'backups/daily/sub/2026-11-23-oslrs.dump',
      'backups/daily/2026-11-oslrs.dump',
      'backups/monthly/2026-W48-oslrs.dump',
      'elsewhere/daily/2026-11-23-oslrs.dump',
    ]) {
      const tier = key.includes('/monthly/') ? 'monthly' : 'daily';
      expect(isDataKey('backups', tier, key), key).toBe(false);
    }
  });
});
