import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RuntimeError, systemErrorMessage } from '../errors.js';
import type { Sysctl } from '../plan/types.js';

/**
 * Writes the kernel settings the plan needs, in the current network
 * namespace. The plan only names interfaces the read-back found; one that
 * vanished since (ENOENT under conf/) is skipped: the next event takes its
 * link down.
 */
export function writeSysctls(sysctls: readonly Sysctl[], root = '/proc/sys'): void {
  for (const sysctl of sysctls) {
    const file = join(root, ...sysctl.path);
    try {
      writeFileSync(file, sysctl.value);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && sysctl.path.includes('conf')) continue;
      throw new RuntimeError(`cannot set ${sysctl.path.join('.')} = ${sysctl.value}: ${systemErrorMessage(error as NodeJS.ErrnoException, file)}`);
    }
  }
}
