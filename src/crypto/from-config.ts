import { ConfigError } from '../errors/index.ts';
import { ENCRYPTION_KEYS_ENV, parseKeyring, type Keyring } from './keyring.ts';

/** The part of the configuration the keyring comes from (config's `encryption` section). */
export interface EncryptionSettings {
  encryption: { keys?: string; allowUnencrypted: boolean };
}

/** The keyring from PGDRILL_ENCRYPTION_KEYS, or null when unencrypted backups were chosen explicitly. */
export function loadKeyring(config: EncryptionSettings, purpose: 'write' | 'read'): Keyring | null {
  if (config.encryption.keys) return parseKeyring(config.encryption.keys);
  if (purpose === 'write' && !config.encryption.allowUnencrypted) throw missingKeyError();
  return null;
}

/** An encrypted backup that needs a key: its id and the id of the key it is encrypted with. */
export interface EncryptedBackup {
  id: string;
  keyId: string;
}

/**
 * The one "PGDRILL_ENCRYPTION_KEYS is not set" error: to write a backup (no argument), or to read
 * the encrypted backups given, naming them and the key ids they need.
 */
export function missingKeyError(reading: readonly EncryptedBackup[] = []): ConfigError {
  if (reading.length === 0) {
    return new ConfigError(`${ENCRYPTION_KEYS_ENV} is not set: backups are encrypted and no key is configured`, {
      hint: `Create a key with \`pgdrill keys generate\`, escrow it and set ${ENCRYPTION_KEYS_ENV}=id:base64key; or set PGDRILL_ALLOW_UNENCRYPTED=true (encryption.allowUnencrypted) to store plaintext backups on purpose`,
    });
  }
  const keyIds = [...new Set(reading.map((b) => b.keyId))];
  const shown = reading.slice(0, 3).map((b) => b.id);
  const backups = reading.length === 1 ? `backup ${reading[0]!.id} is` : `${reading.length} backups (${shown.join(', ')}${reading.length > shown.length ? ', …' : ''}) are`;
  const keys = `key${keyIds.length === 1 ? '' : 's'} ${keyIds.join(', ')}`;
  return new ConfigError(`${ENCRYPTION_KEYS_ENV} is not set: ${backups} encrypted with ${keys}`, {
    hint: `Set ${ENCRYPTION_KEYS_ENV} from the key escrow with ${keys} in it (the active key first, retired keys after it)`,
  });
}
