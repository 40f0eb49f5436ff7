/** `0x…` text of a 32-bit unsigned number, as ip and nft take marks and masks. */
export function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}
