import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { CryptoError } from '../errors/index.ts';
import { FINGERPRINT_BYTES, isValidKeyId, keyFingerprintBytes } from './keyring.ts';
import type { Keyring, MasterKey } from './keyring.ts';

// Format v1, byte by byte (docs/encryption.md has the full description):
//
//   header  magic "PGDRSTRM"          8 bytes
//           format version = 1        u8
//           key id length L (1..64)   u8
//           key id                    L bytes, ASCII [A-Za-z0-9_.-]
//           key fingerprint           8 bytes, HMAC-SHA256(master, "pgdrill key check v1")[0..8]
//           chunk size                u32 big-endian, plaintext bytes per chunk
//           salt                      32 random bytes
//           header MAC                32 bytes, HMAC-SHA256(headerKey, all header bytes above)
//   chunks  AES-256-GCM(payloadKey, nonce, plaintext piece, AAD empty) || 16-byte tag, repeated;
//           every chunk but the last holds exactly `chunk size` plaintext bytes, the last holds
//           0..chunk size bytes and is the only one with the last-chunk flag set.
//   nonce   11-byte big-endian chunk counter (from 0) || 1 byte: 0x01 on the last chunk, else 0x00
//
//   headerKey  = HKDF-SHA256(ikm = master, salt, info = "pgdrill stream v1 header",  32 bytes)
//   payloadKey = HKDF-SHA256(ikm = master, salt, info = "pgdrill stream v1 payload", 32 bytes)

/** The `encryption.algorithm` a manifest records for objects in this format. */
export const ENCRYPTION_ALGORITHM = 'aes-256-gcm-stream-v1';

export const MAGIC = Buffer.from('PGDRSTRM', 'ascii');
export const FORMAT_VERSION = 1;
export const SALT_BYTES = 32;
export const HEADER_MAC_BYTES = 32;
export const TAG_BYTES = 16;
export const NONCE_BYTES = 12;

export const KIB = 1024;
export const MIB = 1024 * KIB;
export const DEFAULT_CHUNK_SIZE = MIB;
export const MIN_CHUNK_SIZE = 64 * KIB;
export const MAX_CHUNK_SIZE = 16 * MIB;

/** Chunk counters run 0 .. MAX_CHUNKS - 1: an object holds at most 2^40 chunks (64 PiB at the smallest chunk size). */
export const MAX_CHUNKS = 2 ** 40;

const MAX_KEY_ID_BYTES = 64;
/** magic + version + key id length. */
const PREFIX_BYTES = MAGIC.length + 2;
/** Header bytes after the key id: fingerprint + chunk size + salt + MAC. */
const TAIL_BYTES = FINGERPRINT_BYTES + 4 + SALT_BYTES + HEADER_MAC_BYTES;
/** The longest possible v1 header (64-byte key id). The decryptor reads this much before judging a header. */
export const MAX_HEADER_BYTES = PREFIX_BYTES + MAX_KEY_ID_BYTES + TAIL_BYTES;
/** The shortest possible v1 header (1-byte key id). */
export const MIN_HEADER_BYTES = PREFIX_BYTES + 1 + TAIL_BYTES;

const HEADER_INFO = 'pgdrill stream v1 header';
const PAYLOAD_INFO = 'pgdrill stream v1 payload';

export const RESTORE_HINT = 'restore from another backup or check PGDRILL_ENCRYPTION_KEYS';

export function isValidChunkSize(size: number): boolean {
  return Number.isInteger(size) && size >= MIN_CHUNK_SIZE && size <= MAX_CHUNK_SIZE;
}

export interface ObjectKeys {
  headerKey: Buffer;
  payloadKey: Buffer;
}

export function deriveObjectKeys(master: Buffer, salt: Buffer): ObjectKeys {
  return {
    headerKey: Buffer.from(hkdfSync('sha256', master, salt, HEADER_INFO, 32)),
    payloadKey: Buffer.from(hkdfSync('sha256', master, salt, PAYLOAD_INFO, 32)),
  };
}

/** The 12-byte nonce of chunk `counter`. */
export function chunkNonce(counter: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(NONCE_BYTES);
  // 11-byte big-endian counter: bytes 0..4 stay zero because counter < 2^40 fits bytes 5..10.
  nonce.writeUIntBE(counter, 5, 6);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

function headerMac(headerKey: Buffer, body: Buffer): Buffer {
  return createHmac('sha256', headerKey).update(body).digest();
}

/** Header fields before the MAC, serialized. */
function headerBody(keyId: string, fingerprint: Buffer, chunkSize: number, salt: Buffer): Buffer {
  const id = Buffer.from(keyId, 'ascii');
  const body = Buffer.alloc(PREFIX_BYTES + id.length + FINGERPRINT_BYTES + 4 + SALT_BYTES);
  let at = MAGIC.copy(body, 0);
  body[at++] = FORMAT_VERSION;
  body[at++] = id.length;
  at += id.copy(body, at);
  at += fingerprint.copy(body, at);
  at = body.writeUInt32BE(chunkSize, at);
  salt.copy(body, at);
  return body;
}

export interface NewHeader {
  header: Buffer;
  payloadKey: Buffer;
}

/** A fresh header for a new object under `master`, with a new random salt. */
export function createHeader(master: MasterKey, chunkSize: number): NewHeader {
  const salt = randomBytes(SALT_BYTES);
  const { headerKey, payloadKey } = deriveObjectKeys(master.key, salt);
  const body = headerBody(master.id, keyFingerprintBytes(master.key), chunkSize, salt);
  return { header: Buffer.concat([body, headerMac(headerKey, body)]), payloadKey };
}

/** What a header says, before anything is authenticated. */
export interface RawHeader {
  version: number;
  /** Key id bytes as read (latin1); only meaningful when keyIdValid. */
  keyId: string;
  keyIdValid: boolean;
  fingerprint: Buffer;
  chunkSize: number;
  salt: Buffer;
  mac: Buffer;
  /** Header length in bytes (offset of chunk 0). */
  length: number;
}

/**
 * Checks as much of magic and version as `bytes` holds (BAD_MAGIC, UNSUPPORTED_VERSION), so a
 * reader can fail on the first bytes of a wrong object instead of buffering a whole header.
 */
export function checkMagicAndVersion(bytes: Buffer): void {
  const magicSeen = Math.min(bytes.length, MAGIC.length);
  if (!bytes.subarray(0, magicSeen).equals(MAGIC.subarray(0, magicSeen))) {
    throw new CryptoError('BAD_MAGIC', 'the object does not start with the pgdrill encryption magic "PGDRSTRM": it is not a pgdrill-encrypted object or its first bytes are damaged', {
      hint: 'check that the object is an encrypted pgdrill backup (its manifest says which algorithm it uses) or restore from another backup',
    });
  }
  if (bytes.length > MAGIC.length) {
    const version = bytes[MAGIC.length] ?? 0;
    if (version !== FORMAT_VERSION) {
      throw new CryptoError('UNSUPPORTED_VERSION', `the object uses encryption format version ${version}; this pgdrill reads version ${FORMAT_VERSION}`, {
        hint: version > FORMAT_VERSION ? 'upgrade pgdrill to read it' : 'the header is damaged: restore from another backup',
      });
    }
  }
}

/**
 * Splits a header into fields without a key. `bytes` holds the start of the object: at least
 * MAX_HEADER_BYTES, or the whole object when it is shorter (then a short header is TRUNCATED).
 */
export function parseRawHeader(bytes: Buffer): RawHeader {
  checkMagicAndVersion(bytes);
  const idLength = bytes.length >= PREFIX_BYTES ? (bytes[PREFIX_BYTES - 1] ?? 0) : 1;
  const idLengthValid = idLength >= 1 && idLength <= MAX_KEY_ID_BYTES;
  const needed = PREFIX_BYTES + (idLengthValid ? idLength : 1) + TAIL_BYTES;
  if (bytes.length < needed) {
    throw new CryptoError('TRUNCATED', `the object ends inside its encryption header (${bytes.length} of ${needed} bytes)`, {
      hint: `the upload or download was cut short: ${RESTORE_HINT}`,
    });
  }
  if (!idLengthValid) {
    const empty = Buffer.alloc(0);
    return { version: FORMAT_VERSION, keyId: '', keyIdValid: false, fingerprint: empty, chunkSize: 0, salt: empty, mac: empty, length: needed };
  }
  let at = PREFIX_BYTES;
  const keyId = bytes.toString('latin1', at, at + idLength);
  at += idLength;
  const fingerprint = bytes.subarray(at, (at += FINGERPRINT_BYTES));
  const chunkSize = bytes.readUInt32BE(at);
  at += 4;
  const salt = bytes.subarray(at, (at += SALT_BYTES));
  const mac = bytes.subarray(at, (at += HEADER_MAC_BYTES));
  return { version: FORMAT_VERSION, keyId, keyIdValid: isValidKeyId(keyId), fingerprint, chunkSize, salt, mac, length: at };
}

/** Whether `bytes` is the header (up to and without the MAC) of an object written with `master`. */
function macMatches(master: MasterKey, body: Buffer, mac: Buffer): boolean {
  const salt = body.subarray(body.length - SALT_BYTES);
  const { headerKey } = deriveObjectKeys(master.key, salt);
  return timingSafeEqual(headerMac(headerKey, body), mac);
}

/**
 * The header as `master` would have written it, fields after the key id taken from `bytes`
 * assuming the key id was `master.id`: used to tell a modified header from a wrong key.
 */
function authenticatesAs(master: MasterKey, bytes: Buffer): boolean {
  const tailAt = PREFIX_BYTES + master.id.length;
  if (bytes.length < tailAt + TAIL_BYTES) return false;
  let at = tailAt + FINGERPRINT_BYTES;
  const chunkSize = bytes.readUInt32BE(at);
  at += 4;
  const salt = bytes.subarray(at, (at += SALT_BYTES));
  const mac = bytes.subarray(at, at + HEADER_MAC_BYTES);
  return macMatches(master, headerBody(master.id, keyFingerprintBytes(master.key), chunkSize, salt), mac);
}

export interface VerifiedHeader {
  keyId: string;
  chunkSize: number;
  payloadKey: Buffer;
  length: number;
}

function tampered(detail: string): CryptoError {
  return new CryptoError('HEADER_TAMPERED', `the encryption header was modified: ${detail}`, {
    hint: `the object was damaged or altered after it was written: ${RESTORE_HINT}`,
  });
}

/**
 * Authenticates a parsed header against the keyring. `bytes` is what the reader holds from the
 * start of the object (at least the header, up to MAX_HEADER_BYTES if the object is that long).
 *
 * When the quick check fails, every key in the keyring is tried as the key the header was
 * written with (its id and fingerprint put back): if one authenticates, the header was written
 * with that key and altered since (HEADER_TAMPERED), rather than encrypted under a key we lack.
 */
export function verifyHeader(raw: RawHeader, bytes: Buffer, keyring: Keyring): VerifiedHeader {
  const named = raw.keyIdValid ? keyring.keys.get(raw.keyId) : undefined;
  if (named !== undefined) {
    const body = bytes.subarray(0, raw.length - HEADER_MAC_BYTES);
    if (keyFingerprintBytes(named.key).equals(raw.fingerprint)) {
      if (!macMatches(named, body, raw.mac)) {
        throw tampered(`its MAC does not match (chunk size, salt or MAC bytes changed; key "${raw.keyId}" is the right key)`);
      }
      if (!isValidChunkSize(raw.chunkSize)) {
        throw new CryptoError('UNSUPPORTED_VERSION', `the object declares a chunk size of ${raw.chunkSize} bytes; this pgdrill reads ${MIN_CHUNK_SIZE}..${MAX_CHUNK_SIZE}`, {
          hint: 'upgrade pgdrill to read it',
        });
      }
      const { payloadKey } = deriveObjectKeys(named.key, raw.salt);
      return { keyId: named.id, chunkSize: raw.chunkSize, payloadKey, length: raw.length };
    }
  }
  for (const candidate of keyring.keys.values()) {
    if (authenticatesAs(candidate, bytes)) {
      throw tampered(
        candidate === named
          ? `its key fingerprint was changed (the rest authenticates under key "${candidate.id}")`
          : `it was written with key "${candidate.id}" but its key id field now reads ${JSON.stringify(raw.keyId)}`,
      );
    }
  }
  if (!raw.keyIdValid) {
    throw tampered('its key id field is not a valid key id');
  }
  const ids = [...keyring.keys.keys()].map((id) => `"${id}"`).join(', ');
  if (named === undefined) {
    throw new CryptoError('UNKNOWN_KEY', `the object was encrypted with key "${raw.keyId}", which is not in the keyring (it holds ${ids})`, {
      hint: `add key "${raw.keyId}" back to PGDRILL_ENCRYPTION_KEYS from escrow (old keys must stay for as long as backups under them are retained)`,
    });
  }
  throw new CryptoError('WRONG_KEY', `the object was encrypted with a key named "${raw.keyId}" (fingerprint ${raw.fingerprint.toString('hex')}) but the keyring's "${raw.keyId}" has fingerprint ${keyFingerprintBytes(named.key).toString('hex')}: same id, different key material`, {
    hint: `check PGDRILL_ENCRYPTION_KEYS: key "${raw.keyId}" was probably regenerated or mistyped; restore the original from escrow`,
  });
}

export interface EncryptionHeaderInfo {
  version: number;
  keyId: string;
  chunkSize: number;
  /** Fingerprint of the key the header names, 16 hex characters. Unauthenticated. */
  keyFingerprint: string;
  /** Header length in bytes. */
  headerLength: number;
}

/**
 * Reads an object's header without a key, e.g. for `pgdrill verify` to show which key it needs.
 * Nothing here is authenticated: only decryption proves the header genuine. `buf` needs the first
 * MAX_HEADER_BYTES of the object (or all of it when shorter).
 */
export function readEncryptionHeader(buf: Buffer): EncryptionHeaderInfo {
  const raw = parseRawHeader(buf);
  if (!raw.keyIdValid) throw tampered('its key id field is not a valid key id');
  return {
    version: raw.version,
    keyId: raw.keyId,
    chunkSize: raw.chunkSize,
    keyFingerprint: raw.fingerprint.toString('hex'),
    headerLength: raw.length,
  };
}

/** Whether `buf` starts like an object in this format (magic only; says nothing about integrity). */
export function looksEncrypted(buf: Buffer): boolean {
  return buf.length >= MAGIC.length && buf.subarray(0, MAGIC.length).equals(MAGIC);
}
