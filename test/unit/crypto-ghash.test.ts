import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Ghash, aesBlocks, blockFrom, gfInverse, gfMul, j0 } from '../../src/crypto/ghash.ts';
import type { Block } from '../../src/crypto/ghash.ts';

// The failure diagnostics (reordering, trailing data, which byte is corrupted) rest on this GHASH
// agreeing with OpenSSL's AES-GCM bit for bit, so it is checked against Node's tags directly.

const key = randomBytes(32);
const ghash = new Ghash(key);

function seal(plaintext: Buffer, nonce: Buffer): { ciphertext: Buffer; tag: Buffer } {
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { ciphertext, tag: cipher.getAuthTag() };
}

function xor(a: Block, b: Block): Block {
  return [(a[0] ^ b[0]) >>> 0, (a[1] ^ b[1]) >>> 0, (a[2] ^ b[2]) >>> 0, (a[3] ^ b[3]) >>> 0];
}

describe('GHASH used for failure diagnostics', () => {
  it('reproduces AES-GCM tags: tag = GHASH(C) xor E_K(J0(nonce))', () => {
    for (const length of [0, 1, 15, 16, 17, 31, 32, 1000, 65_536 + 3]) {
      const nonce = randomBytes(12);
      const { ciphertext, tag } = seal(randomBytes(length), nonce);
      const expected = xor(ghash.digest(ciphertext), blockFrom(aesBlocks(key, j0(nonce))));
      expect(expected, `length ${length}`).toEqual(blockFrom(tag));
    }
  });

  it('evaluates every prefix split in one pass', () => {
    const nonce = randomBytes(12);
    const mask = blockFrom(aesBlocks(key, j0(nonce)));
    const { ciphertext, tag } = seal(randomBytes(77), nonce);
    const piece = Buffer.concat([ciphertext, tag, randomBytes(40)]);
    const seen: number[] = [];
    ghash.eachPrefix(piece, piece.length - 16, (m, x) => {
      // x must equal GHASH(piece[0..m)) xor piece[m..m+16) for every m
      expect(x).toEqual(xor(ghash.digest(piece.subarray(0, m)), blockFrom(piece, m)));
      if (x.every((word, i) => word === mask[i])) seen.push(m);
      return false;
    });
    expect(seen).toEqual([77]);
  });

  it('inverts in GF(2^128)', () => {
    const h = blockFrom(randomBytes(16));
    expect(gfMul(h, gfInverse(h))).toEqual([0x80000000, 0, 0, 0]);
  });

  it('locates a single corrupted byte from the tag mismatch alone', () => {
    const nonce = randomBytes(12);
    const mask = blockFrom(aesBlocks(key, j0(nonce)));
    const { ciphertext, tag } = seal(randomBytes(1000), nonce);
    const wire = Buffer.concat([ciphertext, tag]);
    for (const at of [0, 1, 15, 16, 500, 999, 1000, 1007, 1015]) {
      const damaged = Buffer.from(wire);
      damaged[at] = (damaged[at] ?? 0) ^ 0x5a;
      const d = xor(xor(ghash.digest(damaged.subarray(0, 1000)), mask), blockFrom(damaged, 1000));
      expect(ghash.locateByteError(d, 1000), `byte ${at}`).toBe(at);
    }
    const truncated = wire.subarray(0, 700);
    const d = xor(xor(ghash.digest(truncated.subarray(0, 684)), mask), blockFrom(truncated, 684));
    expect(ghash.locateByteError(d, 684)).toBeUndefined();
  });
});
