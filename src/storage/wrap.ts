import type { BackupStorage } from './types.ts';

/**
 * A storage that does what `inner` does except for the methods in `overrides` (restic's wrapping
 * backends): a download progress counter, for instance, overrides only `get`.
 */
export function wrapStorage(inner: BackupStorage, overrides: Partial<Omit<BackupStorage, 'location'>>): BackupStorage {
  return {
    location: inner.location,
    put: (key, body, options) => inner.put(key, body, options),
    get: (key, options) => inner.get(key, options),
    head: (key, options) => inner.head(key, options),
    list: (prefix, options) => inner.list(prefix, options),
    copy: (fromKey, toKey, options) => inner.copy(fromKey, toKey, options),
    delete: (keys, options) => inner.delete(keys, options),
    presignGet: (key, expiresSeconds, options) => inner.presignGet(key, expiresSeconds, options),
    close: () => inner.close(),
    ...overrides,
  };
}
