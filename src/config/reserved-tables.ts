/** Routing tables multiwan must never use: unspec, default, main, local. */
export function isReservedTable(table: number): boolean {
  return table === 0 || (table >= 253 && table <= 255);
}
