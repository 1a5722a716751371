import { createDecipheriv, createSecretKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { CryptoError } from '../errors/index.ts';
import { MAX_CHUNKS, MAX_HEADER_BYTES, RESTORE_HINT, TAG_BYTES, checkMagicAndVersion, chunkNonce, parseRawHeader, verifyHeader } from './format.ts';
import { Ghash, aesBlocks, blockFrom, j0 } from './ghash.ts';
import type { Block } from './ghash.ts';
import type { Keyring } from './keyring.ts';

type Sink = (bytes: Buffer) => void;

/** How far past the failing position the reorder search looks (it always looks back to chunk 0). */
export const REORDER_LOOKAHEAD = 1024;
/** Window (each side) for "final chunk followed by extra bytes" when a piece is longer than the final chunk. */
const PREFIX_WINDOW = 64;
/** Candidate counters per AES-ECB batch in the reorder search (2 blocks each: both flag values). */
const BATCH_COUNTERS = 32_768;

const DAMAGED_HINT = `the stored object is damaged: ${RESTORE_HINT}`;
const CUT_SHORT_HINT = `the upload or download was cut short (or the object is damaged): re-download it, or ${RESTORE_HINT}`;

interface ChunkMatch {
  counter: number;
  last: boolean;
}

/**
 * The decryption state machine behind the stream and buffer APIs. Reads and authenticates the
 * header, then collects wire chunks (ciphertext + tag) in one preallocated buffer. A full chunk
 * is opened as a non-final chunk only once more bytes arrive; whatever is buffered at the end is
 * opened as the final chunk. Plaintext goes to `sink` only after its chunk authenticated.
 *
 * Note: plaintext of the chunks before a failure has already gone to `sink` when the error is
 * raised. Callers must treat the whole output as invalid on error (the restore does: it discards
 * the sandbox), as with any streaming AEAD.
 */
export class StreamDecryptor {
  private readonly keyring: Keyring;
  private readonly sink: Sink;
  private headerParts: Buffer[] = [];
  private headerBytes = 0;
  private key: KeyObject | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private fill = 0;
  private counter = 0;
  private chunkSize = 0;
  private wireSize = 0;
  private headerLength = 0;
  private finished = false;
  /** Key id of the object, known once the header authenticated. */
  keyId: string | undefined;

  constructor(keyring: Keyring, sink: Sink) {
    this.keyring = keyring;
    this.sink = sink;
  }

  write(data: Buffer): void {
    if (this.finished) throw new Error('StreamDecryptor: write after finish');
    if (this.key === undefined) {
      if (data.length === 0) return;
      if (this.headerBytes === 0 && data.length >= MAX_HEADER_BYTES) {
        this.openHeader(data); // the whole header in one write: no copy
        return;
      }
      // Copied: the caller may reuse `data` once write() returns.
      const start = Buffer.concat([...this.headerParts, data]);
      this.headerParts = [start];
      this.headerBytes = start.length;
      if (this.headerBytes < MAX_HEADER_BYTES) {
        checkMagicAndVersion(start);
        return;
      }
      this.openHeader(start);
      return;
    }
    this.consume(data);
  }

  finish(): void {
    if (this.finished) return;
    if (this.key === undefined) {
      if (this.headerBytes === 0) {
        throw new CryptoError('TRUNCATED', 'the object is empty (0 bytes): it holds no encryption header', { hint: CUT_SHORT_HINT });
      }
      this.openHeader(Buffer.concat(this.headerParts));
    }
    if (this.fill === 0) {
      throw new CryptoError('TRUNCATED', `the object ends right after its encryption header (byte offset ${this.headerLength}): it has no chunks`, {
        hint: CUT_SHORT_HINT,
      });
    }
    if (this.fill < TAG_BYTES) {
      throw new CryptoError('TRUNCATED', `the object ends ${this.fill} bytes into chunk ${this.counter} (byte offset ${this.chunkOffset()}), too short to hold even an authentication tag`, {
        hint: CUT_SHORT_HINT,
      });
    }
    this.open(this.buffer.subarray(0, this.fill), true);
    this.fill = 0;
    this.finished = true;
    this.headerParts = [];
  }

  private openHeader(start: Buffer): void {
    const raw = parseRawHeader(start);
    const header = verifyHeader(raw, start, this.keyring);
    this.key = createSecretKey(header.payloadKey);
    header.payloadKey.fill(0);
    this.keyId = header.keyId;
    this.chunkSize = header.chunkSize;
    this.wireSize = header.chunkSize + TAG_BYTES;
    this.headerLength = header.length;
    this.buffer = Buffer.allocUnsafe(this.wireSize);
    this.headerParts = [];
    this.consume(start.subarray(header.length));
  }

  private chunkOffset(counter = this.counter): number {
    return this.headerLength + counter * this.wireSize;
  }

  private consume(data: Buffer): void {
    const wire = this.wireSize;
    const length = data.length;
    let at = 0;
    while (at < length) {
      if (this.fill === wire) {
        this.open(this.buffer, false);
        this.fill = 0;
      }
      if (this.fill === 0 && length - at > wire) {
        this.open(data.subarray(at, at + wire), false);
        at += wire;
        continue;
      }
      const n = Math.min(wire - this.fill, length - at);
      data.copy(this.buffer, this.fill, at, at + n);
      this.fill += n;
      at += n;
    }
  }

  /** Opens one wire chunk at the current counter; `last` when the object ends with it. */
  private open(piece: Buffer, last: boolean): void {
    const key = this.key;
    if (key === undefined) throw new Error('StreamDecryptor: chunk before header');
    if (this.counter >= MAX_CHUNKS) {
      throw new CryptoError('TRAILING_DATA', `the object continues past the format's limit of 2^40 chunks (byte offset ${this.chunkOffset()})`, {
        hint: DAMAGED_HINT,
      });
    }
    const split = piece.length - TAG_BYTES;
    const decipher = createDecipheriv('aes-256-gcm', key, chunkNonce(this.counter, last), { authTagLength: TAG_BYTES });
    decipher.setAuthTag(piece.subarray(split));
    const plaintext = decipher.update(piece.subarray(0, split));
    try {
      decipher.final();
    } catch {
      throw this.diagnose(key, piece, last);
    }
    if (plaintext.length > 0) this.sink(plaintext);
    this.counter++;
  }

  /**
   * Explains why the piece at the current position failed to authenticate as chunk `counter`
   * with flag `triedLast`. Runs only on failure; see ghash.ts for why each candidate costs one
   * AES block instead of a pass over the chunk.
   */
  private diagnose(key: KeyObject, piece: Buffer, triedLast: boolean): CryptoError {
    const i = this.counter;
    const where = `chunk ${i} (byte offset ${this.chunkOffset()})`;
    const ghash = new Ghash(key);
    const split = piece.length - TAG_BYTES;
    const tag = blockFrom(piece, split);
    const s = ghash.digest(piece.subarray(0, split));
    const x: Block = [(s[0] ^ tag[0]) >>> 0, (s[1] ^ tag[1]) >>> 0, (s[2] ^ tag[2]) >>> 0, (s[3] ^ tag[3]) >>> 0];
    const match = findNonce(key, x, Math.min(i + REORDER_LOOKAHEAD, MAX_CHUNKS - 1), { counter: i, last: triedLast });
    if (match !== undefined) {
      if (match.counter === i && match.last) {
        return new CryptoError('TRAILING_DATA', `${where} is the object's final chunk, but more bytes follow it (from byte offset ${this.chunkOffset() + piece.length})`, {
          hint: `the object was appended to or two objects were concatenated: ${RESTORE_HINT}`,
        });
      }
      if (match.counter === i) {
        return new CryptoError('TRUNCATED', `the object ends on a chunk boundary after chunk ${i} (byte offset ${this.chunkOffset() + piece.length}) without its final chunk`, {
          hint: CUT_SHORT_HINT,
        });
      }
      const what = match.last ? `chunk ${match.counter}, the final chunk` : `chunk ${match.counter}`;
      return new CryptoError('CHUNKS_REORDERED', `position ${i} (byte offset ${this.chunkOffset()}) holds ${what}: chunks of the object were reordered, duplicated or dropped`, {
        hint: DAMAGED_HINT,
      });
    }
    const prefix = this.findFinalPrefix(key, ghash, piece);
    if (prefix !== undefined) {
      const end = this.chunkOffset() + prefix.length;
      if (prefix.counter === i) {
        return new CryptoError('TRAILING_DATA', `${where} is the object's final chunk and ends at byte offset ${end}, but more bytes follow it`, {
          hint: `the object was appended to or two objects were concatenated: ${RESTORE_HINT}`,
        });
      }
      return new CryptoError('CHUNKS_REORDERED', `position ${i} (byte offset ${this.chunkOffset()}) holds chunk ${prefix.counter}, the final chunk, followed by more bytes: chunks of the object were reordered, duplicated or dropped`, {
        hint: DAMAGED_HINT,
      });
    }
    const expected = blockFrom(aesBlocks(key, j0(chunkNonce(i, triedLast))));
    const d: Block = [(x[0] ^ expected[0]) >>> 0, (x[1] ^ expected[1]) >>> 0, (x[2] ^ expected[2]) >>> 0, (x[3] ^ expected[3]) >>> 0];
    const badByte = ghash.locateByteError(d, split);
    if (badByte !== undefined) {
      const which = triedLast ? `${where}, the final chunk,` : where;
      const part = badByte >= split ? `byte ${badByte - split} of its authentication tag` : `ciphertext byte ${badByte}`;
      return new CryptoError('CHUNK_AUTH_FAILED', `${which} failed authentication: ${part} (byte offset ${this.chunkOffset() + badByte}) is corrupted`, {
        hint: DAMAGED_HINT,
      });
    }
    if (triedLast && piece.length < this.wireSize) {
      // A non-final chunk cut short and a corrupted short final chunk look the same: nothing in
      // the object records where it should end. Truncation is by far the likelier of the two.
      return new CryptoError('TRUNCATED', `the object ends ${piece.length} bytes into ${where}, short of a full ${this.wireSize}-byte chunk, and that piece does not authenticate as the final chunk: the object was cut short mid-chunk (or its final chunk is corrupted)`, {
        hint: CUT_SHORT_HINT,
      });
    }
    return new CryptoError('CHUNK_AUTH_FAILED', `${where} failed authentication: the object is corrupted or this chunk was spliced from another object`, {
      hint: DAMAGED_HINT,
    });
  }

  /** A prefix of `piece` that is a valid final chunk at a counter near the current one. */
  private findFinalPrefix(key: KeyObject, ghash: Ghash, piece: Buffer): { counter: number; length: number } | undefined {
    if (piece.length <= TAG_BYTES) return undefined;
    const i = this.counter;
    const lo = Math.max(0, i - PREFIX_WINDOW);
    const hi = Math.min(i + PREFIX_WINDOW, MAX_CHUNKS - 1);
    const blocks = Buffer.alloc((hi - lo + 1) * 16);
    for (let c = lo; c <= hi; c++) j0(chunkNonce(c, true)).copy(blocks, (c - lo) * 16);
    const encrypted = aesBlocks(key, blocks);
    const byFirstWord = new Map<number, number[]>();
    for (let c = lo; c <= hi; c++) {
      const first = encrypted.readUInt32BE((c - lo) * 16);
      const list = byFirstWord.get(first);
      if (list) list.push(c);
      else byFirstWord.set(first, [c]);
    }
    let found: { counter: number; length: number } | undefined;
    ghash.eachPrefix(piece, Math.min(this.chunkSize, piece.length - TAG_BYTES - 1), (m, x) => {
      const list = byFirstWord.get(x[0]);
      if (list === undefined) return false;
      for (const c of list) {
        const at = (c - lo) * 16;
        if (encrypted.readUInt32BE(at + 4) === x[1] && encrypted.readUInt32BE(at + 8) === x[2] && encrypted.readUInt32BE(at + 12) === x[3]) {
          found = { counter: c, length: m + TAG_BYTES };
          return true;
        }
      }
      return false;
    });
    return found;
  }
}

/** The (counter, flag) in 0..hi whose E_K(J0) equals x, other than `skip`. */
function findNonce(key: KeyObject, x: Block, hi: number, skip: ChunkMatch): ChunkMatch | undefined {
  for (let base = 0; base <= hi; base += BATCH_COUNTERS) {
    const count = Math.min(BATCH_COUNTERS, hi - base + 1);
    const blocks = Buffer.alloc(count * 32);
    for (let k = 0; k < count; k++) {
      j0(chunkNonce(base + k, false)).copy(blocks, k * 32);
      j0(chunkNonce(base + k, true)).copy(blocks, k * 32 + 16);
    }
    const encrypted = aesBlocks(key, blocks);
    for (let at = 0; at < encrypted.length; at += 16) {
      if (encrypted.readUInt32BE(at) !== x[0] || encrypted.readUInt32BE(at + 4) !== x[1]) continue;
      if (encrypted.readUInt32BE(at + 8) !== x[2] || encrypted.readUInt32BE(at + 12) !== x[3]) continue;
      const match = { counter: base + Math.floor(at / 32), last: at % 32 === 16 };
      if (match.counter === skip.counter && match.last === skip.last) continue;
      return match;
    }
  }
  return undefined;
}

/** A Transform that decrypts a pgdrill-encrypted object with any key of the keyring. */
export function createDecryptStream(keyring: Keyring): Transform {
  const transform = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      try {
        decryptor.write(chunk);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        decryptor.finish();
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
  const decryptor = new StreamDecryptor(keyring, (bytes) => transform.push(bytes));
  return transform;
}

/** Decrypts a whole object held in memory. Throws CryptoError with the failure's code. */
export function decryptBuffer(keyring: Keyring, data: Buffer): Buffer {
  const parts: Buffer[] = [];
  const decryptor = new StreamDecryptor(keyring, (bytes) => parts.push(bytes));
  decryptor.write(data);
  decryptor.finish();
  return Buffer.concat(parts);
}
