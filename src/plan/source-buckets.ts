/**
 * `balance = "source"`: every LAN host hashes (nft jhash of its address, an
 * IPv6 host by its /64) into one of BUCKETS buckets, and each bucket belongs
 * to one balanced link. Buckets are dealt by weighted rendezvous hashing
 * (highest random weight): each bucket ranks every link by a score drawn from
 * a hash of (bucket, link name) and scaled by the link's weight, and goes to
 * the best-ranked link in the set. So the mapping is stateless and
 * deterministic, shares follow the weights, and when a link leaves only its
 * own buckets move; they come back when it returns. Pure.
 */
import type { BalancedLink } from './types.js';

export const BUCKETS = 128;

/** The mark of the link each bucket goes to (empty with no link). */
export function planSourceBuckets(links: readonly BalancedLink[]): number[] {
  if (!links.length) return [];
  const buckets: number[] = [];
  for (let bucket = 0; bucket < BUCKETS; bucket++) {
    let best: BalancedLink | undefined;
    let bestScore = -Infinity;
    for (const link of links) {
      const score = rendezvousScore(bucket, link.link, link.weight);
      if (score > bestScore) {
        bestScore = score;
        best = link;
      }
    }
    buckets.push(best!.mark);
  }
  return buckets;
}

/** -weight / ln(u), u uniform in (0, 1) from a hash of (bucket, link): the weighted rendezvous score. */
export function rendezvousScore(bucket: number, link: string, weight: number): number {
  const u = (fnv1a(`${bucket}/${link}`) + 0.5) / 2 ** 32;
  return -weight / Math.log(u);
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  // A final avalanche (murmur3's fmix32), so near names and numbers spread evenly.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b) >>> 0;
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35) >>> 0;
  hash ^= hash >>> 16;
  return hash >>> 0;
}
