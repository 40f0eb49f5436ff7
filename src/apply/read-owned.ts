import { InternalError } from '../errors.js';
import { parseOwned, splitJsonDocuments } from '../plan/parse-owned.js';
import { PROTO, type Owned } from '../plan/types.js';
import type { Runner } from './run-command.js';

/** Reads back every rule and route multiwan owns in one family, in one `ip` process. */
export async function readOwned(run: Runner, family: 4 | 6 = 4): Promise<Owned> {
  const { stdout } = await run([`ip`, `-${family}`, '-j', '-batch', '-'], {
    input: `rule show\nroute show table all proto ${PROTO}\n`,
  });
  const docs = splitJsonDocuments(stdout);
  if (docs.length !== 2) throw new InternalError(`ip -j -batch returned ${docs.length} documents, expected 2`);
  return parseOwned(docs[0], docs[1], family);
}
