import { createCipheriv, createSecretKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { PgdrillError } from '../errors/index.ts';
import { DEFAULT_CHUNK_SIZE, MAX_CHUNKS, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE, TAG_BYTES, chunkNonce, createHeader, isValidChunkSize } from './format.ts';
import type { Keyring } from './keyring.ts';

export interface EncryptOptions {
  /** Plaintext bytes per chunk: 64 KiB .. 16 MiB, default 1 MiB. */
  chunkSize?: number;
}

type Sink = (bytes: Buffer) => void;

function checkedChunkSize(options: EncryptOptions | undefined): number {
  const chunkSize = options?.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!isValidChunkSize(chunkSize)) {
    throw new PgdrillError(`encryption chunk size ${chunkSize} is invalid: it must be a whole number of bytes from ${MIN_CHUNK_SIZE} (64 KiB) to ${MAX_CHUNK_SIZE} (16 MiB)`, {
      hint: 'fix encryption.chunkSize in the configuration or leave it unset for 1 MiB',
    });
  }
  return chunkSize;
}

/**
 * The encryption state machine behind the stream and buffer APIs. Plaintext is copied into one
 * preallocated chunk buffer; a full chunk is sealed only once at least one more byte arrives,
 * because only then is it known not to be the last. Whole chunks inside a large write are sealed
 * straight from the caller's buffer without a copy. Output goes to `sink` as header, then
 * ciphertext and tag of each chunk as separate buffers.
 */
export class StreamEncryptor {
  readonly keyId: string;
  readonly chunkSize: number;
  private readonly key: KeyObject;
  private readonly sink: Sink;
  private readonly pending: Buffer;
  private header: Buffer | undefined;
  private fill = 0;
  private counter = 0;
  private finished = false;

  constructor(keyring: Keyring, options: EncryptOptions | undefined, sink: Sink) {
    this.chunkSize = checkedChunkSize(options);
    const { header, payloadKey } = createHeader(keyring.active, this.chunkSize);
    this.keyId = keyring.active.id;
    this.key = createSecretKey(payloadKey);
    payloadKey.fill(0);
    this.header = header;
    this.sink = sink;
    this.pending = Buffer.allocUnsafe(this.chunkSize);
  }

  write(data: Uint8Array): void {
    if (this.finished) throw new Error('StreamEncryptor: write after finish');
    this.emitHeader();
    const size = this.chunkSize;
    const length = data.length;
    let at = 0;
    while (at < length) {
      if (this.fill === size) {
        this.seal(this.pending, false);
        this.fill = 0;
      }
      if (this.fill === 0 && length - at > size) {
        this.seal(data.subarray(at, at + size), false);
        at += size;
        continue;
      }
      const n = Math.min(size - this.fill, length - at);
      this.pending.set(data.subarray(at, at + n), this.fill);
      this.fill += n;
      at += n;
    }
  }

  /** Seals the held-back chunk (possibly empty) as the last one. */
  finish(): void {
    if (this.finished) return;
    this.emitHeader();
    this.seal(this.pending.subarray(0, this.fill), true);
    this.fill = 0;
    this.finished = true;
  }

  private emitHeader(): void {
    if (this.header === undefined) return;
    this.sink(this.header);
    this.header = undefined;
  }

  private seal(plaintext: Uint8Array, last: boolean): void {
    if (this.counter >= MAX_CHUNKS) {
      throw new PgdrillError(`encryption failed: the object exceeds the format's limit of 2^40 chunks of ${this.chunkSize} bytes`, {
        hint: 'split the backup or use a larger encryption.chunkSize',
      });
    }
    const cipher = createCipheriv('aes-256-gcm', this.key, chunkNonce(this.counter, last), { authTagLength: TAG_BYTES });
    const ciphertext = cipher.update(plaintext);
    cipher.final();
    if (ciphertext.length > 0) this.sink(ciphertext);
    this.sink(cipher.getAuthTag());
    this.counter++;
  }
}

/**
 * A Transform that encrypts everything written to it with the keyring's active key. Memory stays
 * at about two chunks plus whatever a single write() brings.
 */
export function createEncryptStream(keyring: Keyring, options?: EncryptOptions): Transform {
  const transform = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      try {
        encryptor.write(chunk);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        encryptor.finish();
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
  const encryptor = new StreamEncryptor(keyring, options, (bytes) => transform.push(bytes));
  return transform;
}

/** Encrypts a whole buffer (small objects such as globals, and tests). */
export function encryptBuffer(keyring: Keyring, plaintext: Uint8Array, options?: EncryptOptions): Buffer {
  const parts: Buffer[] = [];
  const encryptor = new StreamEncryptor(keyring, options, (bytes) => parts.push(bytes));
  encryptor.write(plaintext);
  encryptor.finish();
  return Buffer.concat(parts);
}
