/**
 * nft's `jhash` (the kernel's jhash(), Bob Jenkins' lookup3, scaled by
 * reciprocal_scale into `mod N`), so `explain` names the link a
 * `balance = "source"` host hashes to exactly as the ruleset does. The seed
 * is fixed in the ruleset (a random one would move every host at each
 * reload). Pure; checked against the kernel by the e2e tests.
 */
import ipaddr from 'ipaddr.js';
import type { Family } from '../net/address.js';

/** The seed rendered into the ruleset: "mwan". */
export const JHASH_SEED = 0x6d77616e;

/** The bucket nft's `jhash ip saddr mod N seed S` (IPv6: `jhash @nh,64,64`, the /64's 8 bytes) gives for `src`. */
export function sourceBucket(src: string, family: Family, modulus: number): number {
  const bytes = ipaddr.parse(src).toByteArray();
  const key = family === 6 ? bytes.slice(0, 8) : bytes;
  return Number((BigInt(jhash(key, JHASH_SEED)) * BigInt(modulus)) >> 32n);
}

/** The kernel's jhash(key, length, initval) over bytes. */
export function jhash(key: readonly number[], initval: number): number {
  let length = key.length;
  let a = (0xdeadbeef + length + initval) >>> 0;
  let b = a;
  let c = a;
  let k = 0;
  const word = (i: number) => ((key[i]! | (key[i + 1]! << 8) | (key[i + 2]! << 16) | (key[i + 3]! << 24)) >>> 0);
  while (length > 12) {
    a = (a + word(k)) >>> 0;
    b = (b + word(k + 4)) >>> 0;
    c = (c + word(k + 8)) >>> 0;
    [a, b, c] = mix(a, b, c);
    length -= 12;
    k += 12;
  }
  if (length === 0) return c;
  // The tail: byte i of the last 1-12 goes into a, b or c at bits 8 x (i mod 4).
  for (let i = 0; i < length; i++) {
    const add = (key[k + i]! << ((i % 4) * 8)) >>> 0;
    if (i < 4) a = (a + add) >>> 0;
    else if (i < 8) b = (b + add) >>> 0;
    else c = (c + add) >>> 0;
  }
  return final(a, b, c);
}

const rol = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;

function mix(a: number, b: number, c: number): [number, number, number] {
  a = (a - c) >>> 0; a = (a ^ rol(c, 4)) >>> 0; c = (c + b) >>> 0;
  b = (b - a) >>> 0; b = (b ^ rol(a, 6)) >>> 0; a = (a + c) >>> 0;
  c = (c - b) >>> 0; c = (c ^ rol(b, 8)) >>> 0; b = (b + a) >>> 0;
  a = (a - c) >>> 0; a = (a ^ rol(c, 16)) >>> 0; c = (c + b) >>> 0;
  b = (b - a) >>> 0; b = (b ^ rol(a, 19)) >>> 0; a = (a + c) >>> 0;
  c = (c - b) >>> 0; c = (c ^ rol(b, 4)) >>> 0; b = (b + a) >>> 0;
  return [a, b, c];
}

function final(a: number, b: number, c: number): number {
  c = (c ^ b) >>> 0; c = (c - rol(b, 14)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rol(c, 11)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rol(a, 25)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol(b, 16)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rol(c, 4)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rol(a, 14)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol(b, 24)) >>> 0;
  return c;
}
