import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sysctl } from '../plan/types.js';

/** Writes the kernel settings the plan needs, in the current network namespace. */
export function writeSysctls(sysctls: readonly Sysctl[], root = '/proc/sys'): void {
  for (const sysctl of sysctls) writeFileSync(join(root, ...sysctl.path), sysctl.value);
}
