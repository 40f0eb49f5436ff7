/**
 * One lock serialises every event on a router (pppd starts ip-up for ppp0 and
 * ppp1 at the same moment). It is a listening socket in the abstract
 * namespace, named after the state directory: the kernel releases it when the
 * holder exits, however it exits, so there is never a stale lock to break.
 * Waiting is bounded so a hook never hangs pppd.
 */
import { createServer, type Server } from 'node:net';
import { RuntimeError, systemErrorMessage } from '../errors.js';

export async function withLock<T>(stateDir: string, work: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const server = await acquire(`\0multiwan:${stateDir}`, timeoutMs);
  try {
    return await work();
  } finally {
    server.close();
  }
}

async function acquire(name: string, timeoutMs: number): Promise<Server> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const server = createServer();
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      server.once('error', resolve);
      server.listen({ path: name, exclusive: true }, () => resolve(undefined));
    });
    if (!error) {
      server.unref();
      return server;
    }
    if (error.code !== 'EADDRINUSE') throw new RuntimeError(`cannot take multiwan's lock: ${systemErrorMessage(error)}`);
    if (Date.now() > deadline) {
      throw new RuntimeError(
        `another multiwan event has held the lock for over ${Math.round(timeoutMs / 1000)} s; check for a hung multiwan process (ps -C node)`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(5 + attempt * 2, 25)));
  }
}
