import { createHmac, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { ConfigError } from '../errors/index.ts';

/** Environment variable holding the keyring: `id:base64key,id2:base64key2`, active key first. */
export const ENCRYPTION_KEYS_ENV = 'PGDRILL_ENCRYPTION_KEYS';

/** Length of every master key, in bytes (AES-256). */
export const MASTER_KEY_BYTES = 32;

/** Key ids: 1 to 64 characters of `A-Z a-z 0-9 _ . -`. They are stored in every object header. */
export const KEY_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** Length of a key fingerprint in object headers, in bytes (printed as 16 hex characters). */
export const FINGERPRINT_BYTES = 8;

const FINGERPRINT_INFO = 'pgdrill key check v1';

export interface MasterKey {
  readonly id: string;
  readonly key: Buffer;
}

export interface Keyring {
  /** The key new objects are encrypted with: the first entry of the spec. */
  readonly active: MasterKey;
  /** Every key, active included, by id. Old keys stay here so old backups stay readable. */
  readonly keys: ReadonlyMap<string, MasterKey>;
}

const KEYS_HINT = `check ${ENCRYPTION_KEYS_ENV}: it must read "id:base64key,id2:base64key2" with the active key first`;

export function isValidKeyId(id: string): boolean {
  return KEY_ID_PATTERN.test(id);
}

/** The 8-byte fingerprint of a master key: HMAC-SHA256(key, "pgdrill key check v1")[0..8]. Safe to print and store. */
export function keyFingerprintBytes(key: Buffer | MasterKey): Buffer {
  const bytes = Buffer.isBuffer(key) ? key : key.key;
  return createHmac('sha256', bytes).update(FINGERPRINT_INFO).digest().subarray(0, FINGERPRINT_BYTES);
}

/** The fingerprint as 16 lowercase hex characters, e.g. for `pgdrill keys list` or an error message. */
export function keyFingerprint(key: Buffer | MasterKey): string {
  return keyFingerprintBytes(key).toString('hex');
}

// Key bytes must never reach a log line: console.log / util.inspect / JSON.stringify of a MasterKey
// (or of a Keyring, whose map holds MasterKeys) shows the id and fingerprint only.
function makeMasterKey(id: string, key: Buffer): MasterKey {
  const master = { id, key };
  const redacted = (): string => `MasterKey { id: ${JSON.stringify(id)}, fingerprint: ${keyFingerprint(key)} }`;
  Object.defineProperty(master, inspect.custom, { value: redacted, enumerable: false });
  Object.defineProperty(master, 'toJSON', { value: () => ({ id, fingerprint: keyFingerprint(key) }), enumerable: false });
  return Object.freeze(master);
}

/** Strict base64 (standard or URL-safe alphabet, padding optional) to bytes, or undefined. */
function decodeBase64Strict(text: string): Buffer | undefined {
  const standard = text.replace(/-/g, '+').replace(/_/g, '/');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(standard)) return undefined;
  const unpadded = standard.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) return undefined;
  if (standard.length !== unpadded.length && standard.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(unpadded, 'base64');
  // Reject non-canonical encodings (stray bits in the last character): they usually mean a typo.
  if (bytes.toString('base64').replace(/=+$/, '') !== unpadded) return undefined;
  return bytes;
}

/**
 * Parses a keyring spec (the value of PGDRILL_ENCRYPTION_KEYS): comma-separated `id:base64key`
 * entries, the first one active. A malformed keyring is a configuration error (exit 3): the
 * ConfigError names the entry (1-based, and its id once the id is valid) and what is wrong with it;
 * messages never contain key material.
 */
export function parseKeyring(spec: string): Keyring {
  if (spec.trim() === '') {
    throw new ConfigError(`${ENCRYPTION_KEYS_ENV} is empty: no encryption key is configured`, {
      hint: `generate one with \`pgdrill keys generate\` and set ${ENCRYPTION_KEYS_ENV}="id:base64key"`,
    });
  }
  const keys = new Map<string, MasterKey>();
  const positions = new Map<string, number>();
  const entries = spec.split(',');
  entries.forEach((raw, index) => {
    const position = index + 1;
    const where = `${ENCRYPTION_KEYS_ENV} entry ${position} of ${entries.length}`;
    const entry = raw.trim();
    if (entry === '') {
      throw new ConfigError(`${where} is empty (stray or trailing comma?)`, { hint: KEYS_HINT });
    }
    const colon = entry.indexOf(':');
    if (colon < 0) {
      throw new ConfigError(`${where} has no ":" between key id and key`, { hint: KEYS_HINT });
    }
    const id = entry.slice(0, colon).trim();
    const encoded = entry.slice(colon + 1).trim();
    if (!isValidKeyId(id)) {
      // The id is not echoed: a malformed entry may have the key where the id should be.
      const what = id === '' ? 'is empty' : `is ${id.length} characters long or has characters other than A-Z a-z 0-9 _ . -`;
      throw new ConfigError(`${where}: the key id ${what}`, {
        hint: 'key ids are 1-64 characters of A-Z a-z 0-9 _ . -, e.g. k20261123',
      });
    }
    const named = `${where} (key id "${id}")`;
    const previous = positions.get(id);
    if (previous !== undefined) {
      throw new ConfigError(`${named} duplicates the id of entry ${previous}`, {
        hint: 'every key needs its own id; give the new key a new id',
      });
    }
    if (encoded === '') {
      throw new ConfigError(`${named} has an empty key`, { hint: KEYS_HINT });
    }
    const key = decodeBase64Strict(encoded);
    if (key === undefined) {
      throw new ConfigError(`${named}: the key is not valid base64`, {
        hint: 'copy the key exactly as `pgdrill keys generate` printed it',
      });
    }
    if (key.length !== MASTER_KEY_BYTES) {
      throw new ConfigError(`${named}: the key decodes to ${key.length} bytes, expected ${MASTER_KEY_BYTES}`, {
        hint: 'keys are 32 random bytes in base64 (44 characters); generate one with `pgdrill keys generate`',
      });
    }
    keys.set(id, makeMasterKey(id, key));
    positions.set(id, position);
  });
  const active = keys.values().next().value;
  if (active === undefined) throw new ConfigError(`${ENCRYPTION_KEYS_ENV} holds no key`, { hint: KEYS_HINT });
  return Object.freeze({ active, keys });
}


/** Default id for a new key: `k` + today's date (UTC), e.g. `k20261123`. */
export function defaultKeyId(now: Date = new Date()): string {
  return `k${now.toISOString().slice(0, 10).replace(/-/g, '')}`;
}

/**
 * A new random 32-byte master key. Print `${id}:${base64}` once, prepend it to
 * PGDRILL_ENCRYPTION_KEYS and escrow it (docs/encryption.md).
 */
export function generateKey(id: string = defaultKeyId()): { id: string; base64: string } {
  if (!isValidKeyId(id)) {
    throw new ConfigError(`key id "${id}" is invalid`, {
      hint: 'key ids are 1-64 characters of A-Z a-z 0-9 _ . -, e.g. k20261123',
    });
  }
  return { id, base64: randomBytes(MASTER_KEY_BYTES).toString('base64') };
}
