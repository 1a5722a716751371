import type { PgdrillConfig } from '../config/index.ts';
import { ConfigError } from '../errors/index.ts';
import { parseKeyring, type Keyring } from './keyring.ts';

/** The keyring from PGDRILL_ENCRYPTION_KEYS, or null when unencrypted backups were chosen explicitly. */
export function loadKeyring(config: PgdrillConfig, purpose: 'write' | 'read'): Keyring | null {
  if (config.encryption.keys) return parseKeyring(config.encryption.keys);
  if (purpose === 'write' && !config.encryption.allowUnencrypted) throw missingKeyError();
  return null;
}

/** Writing a backup without a key, when plaintext backups were not chosen explicitly. */
export function missingKeyError(): ConfigError {
  return new ConfigError('No encryption key: PGDRILL_ENCRYPTION_KEYS is not set', {
    hint: 'Create one with `pgdrill keys generate` and set PGDRILL_ENCRYPTION_KEYS=id:base64key, or set encryption.allowUnencrypted: true to store plaintext backups on purpose',
  });
}
