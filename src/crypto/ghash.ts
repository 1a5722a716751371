import { createCipheriv } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

// GHASH (NIST SP 800-38D) in plain TypeScript, used only on the failure path of decryption to
// explain an authentication failure: a GCM tag is GHASH_H(ciphertext) XOR E_K(J0), and only J0
// depends on the nonce. So one GHASH of a chunk lets us test it against thousands of candidate
// nonces (other chunk positions, the other last-chunk flag) for one AES block each, and a
// running GHASH tests every prefix of a piece as "the final chunk, followed by extra bytes".
// Never used to accept data: chunks are only ever released after Node's own GCM verified them.

/** A 128-bit field element as four big-endian 32-bit words. */
export type Block = [number, number, number, number];

const R = 0xe1000000;

/** Multiplication in GF(2^128) with GCM's bit order (SP 800-38D, algorithm 1). Slow; used to build tables. */
export function gfMul(x: Block, y: Block): Block {
  let z0 = 0, z1 = 0, z2 = 0, z3 = 0;
  let [v0, v1, v2, v3] = y;
  for (let i = 0; i < 128; i++) {
    const word = x[i >>> 5] ?? 0;
    if ((word >>> (31 - (i & 31))) & 1) {
      z0 ^= v0; z1 ^= v1; z2 ^= v2; z3 ^= v3;
    }
    const lsb = v3 & 1;
    v3 = (v3 >>> 1) | (v2 << 31);
    v2 = (v2 >>> 1) | (v1 << 31);
    v1 = (v1 >>> 1) | (v0 << 31);
    v0 = v0 >>> 1;
    if (lsb) v0 ^= R;
  }
  return [z0 >>> 0, z1 >>> 0, z2 >>> 0, z3 >>> 0];
}

export function blockFrom(buf: Buffer, at = 0): Block {
  return [buf.readUInt32BE(at), buf.readUInt32BE(at + 4), buf.readUInt32BE(at + 8), buf.readUInt32BE(at + 12)];
}

/**
 * Multiplication by a fixed element M through 16 tables of 256 entries: X·M is the XOR over byte
 * positions k of (byte k of X at position k)·M, since multiplication is linear.
 */
export class FixedMultiplier {
  readonly table: Uint32Array;
  constructor(m: Block) {
    const table = new Uint32Array(16 * 256 * 4);
    for (let k = 0; k < 16; k++) {
      for (let bit = 0; bit < 8; bit++) {
        const x: Block = [0, 0, 0, 0];
        x[k >>> 2] = ((1 << bit) << (8 * (3 - (k & 3)))) >>> 0;
        const p = gfMul(x, m);
        table.set(p, (k * 256 + (1 << bit)) * 4);
      }
      for (let v = 3; v < 256; v++) {
        const low = v & -v;
        if (low === v) continue;
        const a = (k * 256 + (v ^ low)) * 4, b = (k * 256 + low) * 4, o = (k * 256 + v) * 4;
        for (let w = 0; w < 4; w++) table[o + w] = (table[a + w] ?? 0) ^ (table[b + w] ?? 0);
      }
    }
    this.table = table;
  }

  /** x·M. */
  mul(x: Block): Block {
    const t = this.table;
    let z0 = 0, z1 = 0, z2 = 0, z3 = 0;
    for (let k = 0; k < 16; k++) {
      const v = ((x[k >>> 2] ?? 0) >>> (8 * (3 - (k & 3)))) & 0xff;
      const o = (k * 256 + v) * 4;
      z0 ^= t[o] ?? 0; z1 ^= t[o + 1] ?? 0; z2 ^= t[o + 2] ?? 0; z3 ^= t[o + 3] ?? 0;
    }
    return [z0 >>> 0, z1 >>> 0, z2 >>> 0, z3 >>> 0];
  }

  /** (byte v at position k)·M, XORed into acc. */
  xorByteInto(acc: Block, k: number, v: number): void {
    const o = (k * 256 + v) * 4;
    const t = this.table;
    acc[0] = (acc[0] ^ (t[o] ?? 0)) >>> 0;
    acc[1] = (acc[1] ^ (t[o + 1] ?? 0)) >>> 0;
    acc[2] = (acc[2] ^ (t[o + 2] ?? 0)) >>> 0;
    acc[3] = (acc[3] ^ (t[o + 3] ?? 0)) >>> 0;
  }
}

function xor(a: Block, b: Block): Block {
  return [(a[0] ^ b[0]) >>> 0, (a[1] ^ b[1]) >>> 0, (a[2] ^ b[2]) >>> 0, (a[3] ^ b[3]) >>> 0];
}

/** The GCM length block for empty AAD and `cipherBytes` of ciphertext. */
function lengthBlock(cipherBytes: number): Block {
  const bits = cipherBytes * 8;
  return [0, 0, Math.floor(bits / 2 ** 32) >>> 0, bits >>> 0];
}

/** AES-256 of 16-byte blocks (ECB, no padding). */
export function aesBlocks(key: KeyObject | Buffer, blocks: Buffer): Buffer {
  const ecb = createCipheriv('aes-256-ecb', key, null);
  ecb.setAutoPadding(false);
  return Buffer.concat([ecb.update(blocks), ecb.final()]);
}

/** GCM's pre-counter block for a 96-bit nonce: nonce || 0x00000001. */
export function j0(nonce: Buffer): Buffer {
  const block = Buffer.alloc(16);
  nonce.copy(block, 0, 0, 12);
  block[15] = 1;
  return block;
}

export class Ghash {
  readonly byH: FixedMultiplier;
  private byH2: FixedMultiplier | undefined;
  private byHinv: FixedMultiplier | undefined;
  private readonly h: Block;

  constructor(key: KeyObject | Buffer) {
    this.h = blockFrom(aesBlocks(key, Buffer.alloc(16)));
    this.byH = new FixedMultiplier(this.h);
  }

  /** GHASH_H(A = empty, C = data): the tag of `data` under any nonce n is this XOR E_K(J0(n)). */
  digest(data: Buffer): Block {
    let y: Block = [0, 0, 0, 0];
    const full = data.length - (data.length % 16);
    for (let at = 0; at < full; at += 16) y = this.byH.mul(xor(y, blockFrom(data, at)));
    if (full < data.length) {
      const last = Buffer.alloc(16);
      data.copy(last, 0, full);
      y = this.byH.mul(xor(y, blockFrom(last)));
    }
    return this.byH.mul(xor(y, lengthBlock(data.length)));
  }

  /**
   * For every split of `piece` into ciphertext piece[0..m) and tag piece[m..m+16), with m from 0
   * to maxM, calls visit(m, GHASH(piece[0..m)) XOR tag): that value equals E_K(J0(n)) exactly
   * when the split is a valid chunk under nonce n. Linear time: per m, one table lookup for the
   * new byte plus eight for the length block.
   */
  eachPrefix(piece: Buffer, maxM: number, visit: (m: number, x: Block) => boolean): void {
    const byH = this.byH;
    const byH2 = (this.byH2 ??= new FixedMultiplier(byH.mul(this.h)));
    let y: Block = [0, 0, 0, 0];
    const last = Math.min(maxM, piece.length - 16);
    for (let b = 0; 16 * b <= last; b++) {
      const start = 16 * b;
      const yH = byH.mul(y);
      const yH2 = byH.mul(yH);
      const partial: Block = [0, 0, 0, 0];
      for (let r = 0; r < 16; r++) {
        const m = start + r;
        if (m > last) return;
        if (r > 0) byH2.xorByteInto(partial, r - 1, piece[m - 1] ?? 0);
        // S(m) = Y_b·H ^ L(m)·H when m is block-aligned, else Y_b·H² ^ P·H² ^ L(m)·H.
        const s: Block = r === 0 ? [yH[0], yH[1], yH[2], yH[3]] : xor(yH2, partial);
        const len = lengthBlock(m);
        for (let k = 8; k < 16; k++) {
          const v = ((len[k >>> 2] ?? 0) >>> (8 * (3 - (k & 3)))) & 0xff;
          if (v !== 0) byH.xorByteInto(s, k, v);
        }
        if (visit(m, xor(s, blockFrom(piece, m)))) return;
      }
      if (start + 16 <= piece.length) y = byH.mul(xor(y, blockFrom(piece, start)));
    }
  }

  /**
   * Where a single corrupted byte would explain a tag mismatch. `d` is GHASH(received ciphertext)
   * XOR E_K(J0) XOR received tag. A changed ciphertext block k (1-based, of n) shifts GHASH by
   * delta·H^(n-k+2) and a changed tag byte shifts it by delta, so `d` times H^-e confined to one
   * byte for some e names the byte. Returns its offset in ciphertext||tag, or undefined.
   * Random damage (a truncated piece) passes this test with probability about n·2^-116.
   */
  locateByteError(d: Block, cipherLength: number): number | undefined {
    const n = Math.ceil(cipherLength / 16);
    const byHinv = (this.byHinv ??= new FixedMultiplier(gfInverse(this.h)));
    let cur = d;
    for (let e = 0; e <= n + 1; e++) {
      if (e > 0) cur = byHinv.mul(cur);
      if (e === 1) continue;
      const q = singleByte(cur);
      if (q === undefined) continue;
      if (e === 0) return cipherLength + q;
      const offset = (n - e + 1) * 16 + q;
      if (offset < cipherLength) return offset;
    }
    return undefined;
  }
}

/** Position (0..15) of the only nonzero byte of x, or undefined. */
function singleByte(x: Block): number | undefined {
  let found: number | undefined;
  for (let k = 0; k < 16; k++) {
    if ((((x[k >>> 2] ?? 0) >>> (8 * (3 - (k & 3)))) & 0xff) === 0) continue;
    if (found !== undefined) return undefined;
    found = k;
  }
  return found;
}

/** x^-1 = x^(2^128 - 2) = product of x^(2^i) for i = 1..127. */
export function gfInverse(x: Block): Block {
  let result: Block = [0x80000000, 0, 0, 0];
  let power = x;
  for (let i = 1; i < 128; i++) {
    power = gfMul(power, power);
    result = gfMul(result, power);
  }
  return result;
}
