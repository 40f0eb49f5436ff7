/** The latest entry of a Debian changelog (debian/changelog): its version and date. */
export function latestChangelogEntry(text: string): { version: string; date: Date } {
  const version = /^multiwan \(([^)]+)\)/m.exec(text)?.[1];
  const trailer = /^ -- .+<[^>]+> {2}(.+)$/m.exec(text)?.[1];
  const date = trailer ? new Date(trailer) : undefined;
  if (!version || !date || Number.isNaN(date.getTime())) throw new Error('debian/changelog: no "multiwan (VERSION)" entry with a " -- Name <mail>  date" line');
  return { version, date };
}

/** A changelog entry, in the format of debian/changelog. */
export function changelogEntry(version: string, maintainer: string, date: Date, changes: string[]): string {
  const day = date.toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+) ([\d:]+) GMT$/, '$1, $2 $3 $4 $5 +0000');
  return `multiwan (${version}) unstable; urgency=medium\n\n${changes.map((c) => `  * ${c}`).join('\n')}\n\n -- ${maintainer}  ${day}\n`;
}
