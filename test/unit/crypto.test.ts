import { createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CHUNK_SIZE,
  ENCRYPTION_ALGORITHM,
  MIN_CHUNK_SIZE,
  createDecryptStream,
  createEncryptStream,
  decryptBuffer,
  encryptBuffer,
  generateKey,
  keyFingerprint,
  looksEncrypted,
  missingKeyError,
  parseKeyring,
  readEncryptionHeader,
} from '../../src/crypto/index.ts';
import type { Keyring } from '../../src/crypto/index.ts';
import { ConfigError, CryptoError, ExitCode } from '../../src/errors/index.ts';
import type { CryptoFailure } from '../../src/errors/index.ts';

const C = MIN_CHUNK_SIZE; // 64 KiB chunks keep the tests fast; the format is the same at any size.
const TAG = 16;
const WIRE = C + TAG;

const keyA = generateKey('key-a');
const keyB = generateKey('key-b');
const ringA = parseKeyring(`${keyA.id}:${keyA.base64}`);
/** Rotated: key-b active, key-a still present for old objects. */
const ringBA = parseKeyring(`${keyB.id}:${keyB.base64}, ${keyA.id}:${keyA.base64}`);

function split(data: Buffer, sizes: readonly number[]): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const size = sizes[i % sizes.length] ?? 1;
    pieces.push(data.subarray(at, at + size));
    at += size;
  }
  return pieces;
}

function collector(into: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      into.push(chunk);
      callback();
    },
  });
}

/** Decrypts through the stream API, fed in awkward pieces so headers and chunks straddle writes. */
async function decryptStreamed(keyring: Keyring, data: Buffer, sizes: readonly number[] = [7, 100_003, 1, WIRE - 3]): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(split(data, sizes)), createDecryptStream(keyring), collector(out));
  return Buffer.concat(out);
}

async function encryptStreamed(keyring: Keyring, data: Buffer, sizes: readonly number[], chunkSize = C): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(split(data, sizes)), createEncryptStream(keyring, { chunkSize }), collector(out));
  return Buffer.concat(out);
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure, but the call succeeded');
}

/** Asserts both the buffer and the stream decryptor fail with `code`, and with the same message. */
async function expectFailure(keyring: Keyring, data: Buffer, code: CryptoFailure): Promise<CryptoError> {
  const error = thrown(() => decryptBuffer(keyring, data));
  expect(error).toBeInstanceOf(CryptoError);
  expect(error).toMatchObject({ code, exitCode: ExitCode.verification });
  await expect(decryptStreamed(keyring, data)).rejects.toMatchObject({ code, message: (error as CryptoError).message });
  return error as CryptoError;
}

function flip(data: Buffer, at: number, mask = 0x01): Buffer {
  const copy = Buffer.from(data);
  copy[at] = (copy[at] ?? 0) ^ mask;
  return copy;
}

function expectedLength(headerLength: number, plaintext: number, chunkSize: number): number {
  return headerLength + plaintext + TAG * Math.max(1, Math.ceil(plaintext / chunkSize));
}

describe('round trips', () => {
  const sizes = [0, 1, C - 1, C, C + 1, 3 * C, 3 * C + 17, 5 * C + 12_345];
  for (const size of sizes) {
    it(`${size} bytes, buffer and stream APIs agree`, async () => {
      const plaintext = randomBytes(size);
      const encrypted = encryptBuffer(ringA, plaintext, { chunkSize: C });
      const header = readEncryptionHeader(encrypted);
      expect(header).toMatchObject({ version: 1, keyId: 'key-a', chunkSize: C, headerLength: 86 + 'key-a'.length });
      expect(encrypted.length).toBe(expectedLength(header.headerLength, size, C));
      expect(decryptBuffer(ringA, encrypted).equals(plaintext)).toBe(true);
      expect((await decryptStreamed(ringA, encrypted)).equals(plaintext)).toBe(true);
      const streamed = await encryptStreamed(ringA, plaintext, [13, C, 1, 2 * C + 5]);
      expect(streamed.length).toBe(encrypted.length);
      expect(decryptBuffer(ringA, streamed).equals(plaintext)).toBe(true);
    });
  }

  it('uses 1 MiB chunks by default', () => {
    const plaintext = randomBytes(DEFAULT_CHUNK_SIZE + 1);
    const encrypted = encryptBuffer(ringA, plaintext);
    expect(readEncryptionHeader(encrypted).chunkSize).toBe(DEFAULT_CHUNK_SIZE);
    expect(encrypted.length).toBe(expectedLength(91, plaintext.length, DEFAULT_CHUNK_SIZE));
    expect(decryptBuffer(ringA, encrypted).equals(plaintext)).toBe(true);
  });

  it('writes a fresh salt per object: the same plaintext never encrypts the same way twice', () => {
    const plaintext = Buffer.alloc(1000, 7);
    const one = encryptBuffer(ringA, plaintext, { chunkSize: C });
    const two = encryptBuffer(ringA, plaintext, { chunkSize: C });
    expect(one.equals(two)).toBe(false);
    expect(one.subarray(91).includes(plaintext.subarray(0, 32))).toBe(false);
  });

  it('refuses chunk sizes outside 64 KiB .. 16 MiB', () => {
    for (const chunkSize of [C - 1, 16 * 1024 * 1024 + 1, C + 0.5, 0, -1]) {
      expect(() => encryptBuffer(ringA, Buffer.alloc(1), { chunkSize })).toThrow(/chunk size/);
      expect(() => createEncryptStream(ringA, { chunkSize })).toThrow(/chunk size/);
    }
  });

  it('matches the documented wire format byte for byte (docs/encryption.md)', () => {
    const plaintext = randomBytes(C + 10);
    const data = encryptBuffer(ringA, plaintext, { chunkSize: C });
    const master = Buffer.from(keyA.base64, 'base64');
    expect(data.subarray(0, 8).toString('ascii')).toBe('PGDRSTRM');
    expect(data[8]).toBe(1);
    expect(data[9]).toBe(5);
    expect(data.subarray(10, 15).toString('ascii')).toBe('key-a');
    const fingerprint = createHmac('sha256', master).update('pgdrill key check v1').digest().subarray(0, 8);
    expect(data.subarray(15, 23).equals(fingerprint)).toBe(true);
    expect(data.readUInt32BE(23)).toBe(C);
    const salt = data.subarray(27, 59);
    const headerKey = Buffer.from(hkdfSync('sha256', master, salt, 'pgdrill stream v1 header', 32));
    const payloadKey = Buffer.from(hkdfSync('sha256', master, salt, 'pgdrill stream v1 payload', 32));
    expect(data.subarray(59, 91).equals(createHmac('sha256', headerKey).update(data.subarray(0, 59)).digest())).toBe(true);
    const open = (piece: Buffer, counter: number, last: boolean): Buffer => {
      const nonce = Buffer.alloc(12);
      nonce.writeUIntBE(counter, 5, 6);
      nonce[11] = last ? 1 : 0;
      const decipher = createDecipheriv('aes-256-gcm', payloadKey, nonce);
      decipher.setAuthTag(piece.subarray(piece.length - 16));
      return Buffer.concat([decipher.update(piece.subarray(0, piece.length - 16)), decipher.final()]);
    };
    const chunk0 = open(data.subarray(91, 91 + WIRE), 0, false);
    const chunk1 = open(data.subarray(91 + WIRE), 1, true);
    expect(Buffer.concat([chunk0, chunk1]).equals(plaintext)).toBe(true);
    expect(() => open(data.subarray(91 + WIRE), 1, false)).toThrow();
  });

  it('names the manifest algorithm and recognizes its own objects', () => {
    expect(ENCRYPTION_ALGORITHM).toBe('aes-256-gcm-stream-v1');
    expect(looksEncrypted(encryptBuffer(ringA, Buffer.from('x')))).toBe(true);
    expect(looksEncrypted(Buffer.from('PGDMP custom dump'))).toBe(false);
  });
});

describe('key rotation', () => {
  it('reads objects under the old key once a new key is active, and writes new ones under the new key', async () => {
    const plaintext = randomBytes(2 * C + 99);
    const old = encryptBuffer(ringA, plaintext, { chunkSize: C });
    expect(readEncryptionHeader(old).keyId).toBe('key-a');
    expect(decryptBuffer(ringBA, old).equals(plaintext)).toBe(true);
    expect((await decryptStreamed(ringBA, old)).equals(plaintext)).toBe(true);

    const fresh = encryptBuffer(ringBA, plaintext, { chunkSize: C });
    expect(readEncryptionHeader(fresh).keyId).toBe('key-b');
    expect(decryptBuffer(ringBA, fresh).equals(plaintext)).toBe(true);
  });

  it('fails with UNKNOWN_KEY, naming the missing id and the ids present, once the old key is removed', async () => {
    const ringB = parseKeyring(`${keyB.id}:${keyB.base64}`);
    const error = await expectFailure(ringB, encryptBuffer(ringA, Buffer.from('old'), { chunkSize: C }), 'UNKNOWN_KEY');
    expect(error.message).toContain('"key-a"');
    expect(error.message).toContain('"key-b"');
  });

  it('fails with WRONG_KEY when the id matches but the key material does not', async () => {
    const impostor = parseKeyring(`key-a:${generateKey().base64}`);
    const error = await expectFailure(impostor, encryptBuffer(ringA, Buffer.from('x'), { chunkSize: C }), 'WRONG_KEY');
    expect(error.message).toContain(keyFingerprint(Buffer.from(keyA.base64, 'base64')));
    expect(error.message).not.toContain(keyA.base64);
  });
});

describe('tampering and damage are reported by code', () => {
  // Four chunks: three full, a short final one. And an object whose final chunk is full.
  const plaintext = randomBytes(3 * C + 1000);
  const data = encryptBuffer(ringA, plaintext, { chunkSize: C });
  const h = readEncryptionHeader(data).headerLength;
  const chunk = (i: number): Buffer => data.subarray(h + i * WIRE, Math.min(h + (i + 1) * WIRE, data.length));
  const header = data.subarray(0, h);
  const exact = encryptBuffer(ringA, randomBytes(2 * C), { chunkSize: C });

  it('sanity: the untouched objects decrypt', () => {
    expect(decryptBuffer(ringA, data).equals(plaintext)).toBe(true);
    expect(exact.length).toBe(h + 2 * WIRE);
    expect(decryptBuffer(ringA, exact).length).toBe(2 * C);
  });

  it('BAD_MAGIC for anything that is not a pgdrill-encrypted object', async () => {
    await expectFailure(ringA, flip(data, 0), 'BAD_MAGIC');
    await expectFailure(ringA, Buffer.from('--\n-- PostgreSQL database dump\n--\n'), 'BAD_MAGIC');
    await expectFailure(ringA, Buffer.from('PGDMP'), 'BAD_MAGIC');
  });

  it('UNSUPPORTED_VERSION for another format version', async () => {
    const v2 = Buffer.from(data);
    v2[8] = 2;
    const error = await expectFailure(ringA, v2, 'UNSUPPORTED_VERSION');
    expect(error.message).toMatch(/upgrade pgdrill/);
  });

  it('HEADER_TAMPERED for a change to any header byte after the version', async () => {
    for (let at = 9; at < h; at++) {
      for (const mask of [0x01, 0x80]) {
        const error = thrown(() => decryptBuffer(ringA, flip(data, at, mask)));
        expect(error, `byte ${at} ^ ${mask}`).toMatchObject({ code: 'HEADER_TAMPERED' });
      }
    }
    await expectFailure(ringA, flip(data, h - 40), 'HEADER_TAMPERED'); // salt
    await expectFailure(ringA, flip(data, 24), 'HEADER_TAMPERED'); // chunk size
  });

  it('HEADER_TAMPERED when the key id is rewritten to another id in the keyring', async () => {
    const renamed = Buffer.concat([Buffer.from(data.subarray(0, 10)), Buffer.from('key-b'), data.subarray(15)]);
    const error = await expectFailure(ringBA, renamed, 'HEADER_TAMPERED');
    expect(error.message).toContain('written with key "key-a"');
  });

  it('CHUNK_AUTH_FAILED naming the chunk and byte offset for a flipped bit', async () => {
    const at = h + WIRE + 12_345;
    const error = await expectFailure(ringA, flip(data, at), 'CHUNK_AUTH_FAILED');
    expect(error.message).toContain('chunk 1 ');
    expect(error.message).toContain(`byte offset ${at}`);
    // in a tag, in the last chunk (short), in the last chunk when it is full
    const inTag = h + 3 * WIRE - 1;
    expect((await expectFailure(ringA, flip(data, inTag), 'CHUNK_AUTH_FAILED')).message).toContain(`byte offset ${inTag}`);
    const inLast = data.length - TAG - 10;
    expect((await expectFailure(ringA, flip(data, inLast, 0xff), 'CHUNK_AUTH_FAILED')).message).toContain(`byte offset ${inLast}`);
    expect((await expectFailure(ringA, flip(data, data.length - 1), 'CHUNK_AUTH_FAILED')).message).toContain('final chunk');
    await expectFailure(ringA, flip(exact, exact.length - 100), 'CHUNK_AUTH_FAILED');
    await expectFailure(ringA, flip(data, h), 'CHUNK_AUTH_FAILED');
  });

  it('CHUNK_AUTH_FAILED for damage spread over a chunk', async () => {
    const damaged = Buffer.from(data);
    randomBytes(64).copy(damaged, h + 2 * WIRE + 500);
    const error = await expectFailure(ringA, damaged, 'CHUNK_AUTH_FAILED');
    expect(error.message).toContain('chunk 2 ');
    expect(error.message).toContain(`byte offset ${h + 2 * WIRE}`);
  });

  it('CHUNK_AUTH_FAILED for a chunk spliced in from another object under the same key', async () => {
    const other = encryptBuffer(ringA, randomBytes(3 * C + 1000), { chunkSize: C });
    const spliced = Buffer.concat([header, chunk(0), other.subarray(h + WIRE, h + 2 * WIRE), chunk(2), chunk(3)]);
    const error = await expectFailure(ringA, spliced, 'CHUNK_AUTH_FAILED');
    expect(error.message).toContain('spliced from another object');
    expect(error.message).toContain('chunk 1 ');
    // the other object's header with this object's chunks: every chunk key differs
    await expectFailure(ringA, Buffer.concat([other.subarray(0, h), data.subarray(h)]), 'CHUNK_AUTH_FAILED');
  });

  it('CHUNKS_REORDERED for swapped, duplicated and dropped chunks', async () => {
    const swapped = await expectFailure(ringA, Buffer.concat([header, chunk(1), chunk(0), chunk(2), chunk(3)]), 'CHUNKS_REORDERED');
    expect(swapped.message).toContain('position 0');
    expect(swapped.message).toContain('chunk 1');
    await expectFailure(ringA, Buffer.concat([header, chunk(0), chunk(2), chunk(1), chunk(3)]), 'CHUNKS_REORDERED');
    // the short final chunk swapped with a full one
    await expectFailure(ringA, Buffer.concat([header, chunk(0), chunk(1), chunk(3), chunk(2)]), 'CHUNKS_REORDERED');
    // duplicated, dropped
    await expectFailure(ringA, Buffer.concat([header, chunk(0), chunk(1), chunk(0), chunk(3)]), 'CHUNKS_REORDERED');
    await expectFailure(ringA, Buffer.concat([header, chunk(0), chunk(2), chunk(3)]), 'CHUNKS_REORDERED');
    await expectFailure(ringA, Buffer.concat([header, chunk(0), chunk(1), chunk(3)]), 'CHUNKS_REORDERED');
    // final chunk full-size, swapped with the one before it
    await expectFailure(ringA, Buffer.concat([exact.subarray(0, h), exact.subarray(h + WIRE), exact.subarray(h, h + WIRE)]), 'CHUNKS_REORDERED');
  });

  it('TRUNCATED when the object ends before its final chunk, at a chunk boundary or inside one', async () => {
    for (const end of [h + WIRE, h + 2 * WIRE, h + 3 * WIRE]) {
      const error = await expectFailure(ringA, data.subarray(0, end), 'TRUNCATED');
      expect(error.message).toContain('chunk boundary');
    }
    await expectFailure(ringA, exact.subarray(0, h + WIRE), 'TRUNCATED'); // dropped a full final chunk
    for (const end of [h + WIRE + 1000, h + 2 * WIRE - 1, h + 5, data.length - 1, data.length - TAG - 1]) {
      await expectFailure(ringA, data.subarray(0, end), 'TRUNCATED');
    }
    await expectFailure(ringA, data.subarray(0, h), 'TRUNCATED'); // header only
    await expectFailure(ringA, data.subarray(0, h - 1), 'TRUNCATED'); // inside the header
    await expectFailure(ringA, data.subarray(0, 3), 'TRUNCATED'); // inside the magic
    await expectFailure(ringA, Buffer.alloc(0), 'TRUNCATED');
  });

  it('TRAILING_DATA for bytes after the final chunk', async () => {
    for (const object of [data, exact, encryptBuffer(ringA, Buffer.alloc(0), { chunkSize: C })]) {
      for (const extra of [Buffer.from([0]), randomBytes(100), randomBytes(WIRE + 7), object]) {
        const error = await expectFailure(ringA, Buffer.concat([object, extra]), 'TRAILING_DATA');
        expect(error.message).toContain('final chunk');
      }
    }
  });

  it('never echoes key material in any of these messages', async () => {
    const cases = [flip(data, h + 1), data.subarray(0, h + WIRE), flip(data, 20)];
    for (const bad of cases) {
      const message = (thrown(() => decryptBuffer(ringA, bad)) as Error).message;
      expect(message).not.toContain(keyA.base64);
      expect(message).not.toContain(Buffer.from(keyA.base64, 'base64').toString('hex').slice(0, 16));
    }
  });
});

describe('keyring', () => {
  it('parses entries in order: first active, all readable, whitespace tolerated', () => {
    const ring = parseKeyring(` ${keyB.id}:${keyB.base64} ,\n${keyA.id}:${keyA.base64}`);
    expect(ring.active.id).toBe('key-b');
    expect([...ring.keys.keys()]).toEqual(['key-b', 'key-a']);
    expect(ring.keys.get('key-a')?.key.equals(Buffer.from(keyA.base64, 'base64'))).toBe(true);
  });

  it('accepts URL-safe base64 and missing padding', () => {
    const raw = randomBytes(32);
    const url = raw.toString('base64url');
    expect(parseKeyring(`u:${url}`).active.key.equals(raw)).toBe(true);
    expect(parseKeyring(`p:${raw.toString('base64').replace(/=+$/, '')}`).active.key.equals(raw)).toBe(true);
  });

  const good = `${keyA.id}:${keyA.base64}`;
  const bad: Array<[string, string, RegExp]> = [
    ['empty', '', /is empty/],
    ['blank', '   ', /is empty/],
    ['duplicate id', `${good},key-b:${keyB.base64},${keyA.id}:${keyB.base64}`, /entry 3 of 3.*"key-a".*duplicates the id of entry 1/],
    ['bad base64', `${good},k2:${keyB.base64.slice(0, 20)}!${keyB.base64.slice(21)}`, /entry 2 of 2.*"k2".*not valid base64/],
    ['16-byte key', `k1:${randomBytes(16).toString('base64')}`, /entry 1 of 1.*16 bytes, expected 32/],
    ['33-byte key', `${good},k2:${randomBytes(33).toString('base64')}`, /entry 2 of 2.*33 bytes, expected 32/],
    ['no colon', `${good},${keyB.base64}`, /entry 2 of 2 has no ":"/],
    ['missing id', `:${keyB.base64}`, /entry 1 of 1: the key id is empty/],
    ['bad id', `key b!:${keyB.base64}`, /entry 1 of 1: the key id/],
    ['id too long', `${'k'.repeat(65)}:${keyB.base64}`, /entry 1 of 1: the key id/],
    ['empty key', `${good},k2:`, /entry 2 of 2.*empty key/],
    ['trailing comma', `${good},`, /entry 2 of 2 is empty/],
  ];
  for (const [name, spec, message] of bad) {
    it(`rejects ${name} as a configuration error (exit 3)`, () => {
      const error = thrown(() => parseKeyring(spec));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).exitCode).toBe(ExitCode.config);
      expect((error as Error).message).toMatch(message);
    });
  }

  it('never puts key material in its error messages', () => {
    const secrets = [keyA.base64, keyB.base64, keyB.base64.slice(0, 20), keyB.base64.slice(21)];
    for (const [, spec] of bad) {
      const message = (thrown(() => parseKeyring(spec)) as Error).message;
      for (const secret of secrets) expect(message).not.toContain(secret);
      // nor whatever key text the spec held
      for (const part of spec.split(/[,:]/)) if (part.trim().length >= 16) expect(message).not.toContain(part.trim());
    }
  });

  it('builds one "PGDRILL_ENCRYPTION_KEYS is not set" error that says what needs a key and what to do', () => {
    const write = missingKeyError();
    const one = missingKeyError([{ id: '2026-03-01-oslrs', keyId: 'k1' }]);
    const many = missingKeyError(['a', 'b', 'c', 'd'].map((id, i) => ({ id, keyId: i % 2 ? 'k2' : 'k1' })));
    for (const error of [write, one, many]) {
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toMatch(/^PGDRILL_ENCRYPTION_KEYS is not set: /);
    }
    expect(write.message).toMatch(/backups are encrypted and no key is configured\. Create a key with `pgdrill keys generate`.*PGDRILL_ALLOW_UNENCRYPTED=true/);
    expect(one.message).toMatch(/backup 2026-03-01-oslrs is encrypted with key k1\. Set PGDRILL_ENCRYPTION_KEYS from the key escrow with key k1 in it/);
    expect(many.message).toMatch(/4 backups \(a, b, c, …\) are encrypted with keys k1, k2\./);
  });

  it('shows ids and fingerprints, never key bytes, when logged or serialized', () => {
    const shown = inspect(ringBA, { depth: 5 }) + JSON.stringify(ringBA.active) + JSON.stringify([...ringBA.keys.values()]);
    expect(shown).toContain('key-a');
    expect(shown).toContain(keyFingerprint(ringBA.active.key));
    for (const key of ringBA.keys.values()) {
      expect(shown).not.toContain(key.key.toString('base64'));
      expect(shown).not.toContain(key.key.toString('hex').slice(0, 8));
    }
  });

  it('generates 32-byte keys with a dated default id', () => {
    const today = new Date().toISOString().slice(0, 10).replace(/-/g, '');
    const a = generateKey();
    const b = generateKey('rotation-2027');
    expect(a.id).toBe(`k${today}`);
    expect(b.id).toBe('rotation-2027');
    expect(Buffer.from(a.base64, 'base64')).toHaveLength(32);
    expect(a.base64).not.toBe(b.base64);
    expect(parseKeyring(`${a.id}:${a.base64}`).active.id).toBe(a.id);
    expect(() => generateKey('no spaces')).toThrow(ConfigError);
  });

  it('fingerprints keys as HMAC-SHA256(key, "pgdrill key check v1")[0..8] in hex', () => {
    const key = Buffer.from(keyA.base64, 'base64');
    const expected = createHmac('sha256', key).update('pgdrill key check v1').digest().subarray(0, 8).toString('hex');
    expect(keyFingerprint(key)).toBe(expected);
    expect(keyFingerprint(ringA.active)).toBe(expected);
    expect(keyFingerprint(Buffer.from(keyB.base64, 'base64'))).not.toBe(expected);
  });
});

describe('streaming', () => {
  it('pushes 64 MiB through encrypt -> decrypt with tiny and huge writes, holding about two chunks', async () => {
    const total = 64 * 1024 * 1024;
    const source = randomBytes(total);
    const expected = createHash('sha256').update(source).digest('hex');
    // 1 MiB in 7-byte writes, then a mix of odd sizes up to 3 MiB.
    const sizes = [7, 13, 1, 4093, 65_537, 1_048_579, 3 * 1_048_576 + 5, 999, 131_071];
    function* writes(): Generator<Buffer> {
      let at = 0;
      for (; at < 1_048_576; at += 7) yield source.subarray(at, Math.min(at + 7, 1_048_576));
      at = 1_048_576;
      for (let i = 0; at < total; i++) {
        const size = sizes[i % sizes.length] ?? 1;
        yield source.subarray(at, Math.min(at + size, total));
        at += size;
      }
    }
    let sourceDone = false;
    let bytesBeforeSourceDone = 0;
    const encrypt = createEncryptStream(ringA);
    const decrypt = createDecryptStream(ringA);
    let maxBuffered = 0;
    // re-split the ciphertext at odd sizes so chunks straddle writes on the way in
    const resplit = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        maxBuffered = Math.max(maxBuffered, encrypt.readableLength);
        if (!sourceDone) bytesBeforeSourceDone += chunk.length;
        let ok = true;
        for (let at = 0; at < chunk.length; at += 100_003) ok = decrypt.write(chunk.subarray(at, at + 100_003));
        if (ok) callback();
        else decrypt.once('drain', () => callback());
      },
      final(callback) {
        decrypt.end();
        callback();
      },
    });
    const hash = createHash('sha256');
    let plainBytes = 0;
    const hashed = pipeline(decrypt, new Writable({
      write(chunk: Buffer, _encoding, callback) {
        maxBuffered = Math.max(maxBuffered, decrypt.readableLength);
        hash.update(chunk);
        plainBytes += chunk.length;
        callback();
      },
    }));
    await Promise.all([
      pipeline(
        Readable.from(writes()).on('end', () => (sourceDone = true)),
        encrypt,
        resplit,
      ),
      hashed,
    ]);
    expect(plainBytes).toBe(total);
    expect(hash.digest('hex')).toBe(expected);
    // Streams as it goes: nearly everything was encrypted before the source ended, and no
    // stage held more than a few chunks of output (writes here are at most 3 MiB).
    expect(bytesBeforeSourceDone).toBeGreaterThan(total - 8 * 1024 * 1024);
    expect(maxBuffered).toBeLessThanOrEqual(5 * DEFAULT_CHUNK_SIZE);
  });

  it('fails the pipeline on damage and releases no plaintext of the damaged chunk', async () => {
    const plaintext = randomBytes(3 * C);
    const damaged = flip(encryptBuffer(ringA, plaintext, { chunkSize: C }), 91 + WIRE + 5);
    const out: Buffer[] = [];
    await expect(pipeline(Readable.from(split(damaged, [4096])), createDecryptStream(ringA), collector(out))).rejects.toMatchObject({
      code: 'CHUNK_AUTH_FAILED',
    });
    const released = Buffer.concat(out);
    expect(released.length).toBe(C);
    expect(released.equals(plaintext.subarray(0, C))).toBe(true);
  });
});
