/**
 * One TCP connect probe, in process: connect from the link's local address
 * (so the `from <local> lookup <table>` rule routes it through the link),
 * then reset the connection at once.
 *
 * A reply is an accepted connection or a refused one (ECONNREFUSED: the
 * target's RST came back through the link, so the path works). A timeout,
 * an ICMP error (EHOSTUNREACH, ENETUNREACH) or a local error fails.
 *
 * The connection is closed with a RST (resetAndDestroy), not a FIN: at
 * 15 connects a second per target a FIN close would leave ~900 sockets per
 * target in TIME_WAIT on the router and hold the target's accept queue.
 */
import net from 'node:net';
import { parseAddress } from '../net/address.js';

export interface TcpProbeOptions {
  source: string;
  target: string;
  port: number;
  timeoutMs: number;
  /** Aborting ends the probe at once (result: not ok, error "aborted"). */
  signal?: AbortSignal;
}

export type TcpProbeResult = { ok: true; rttMs: number } | { ok: false; error: string };

export function probeTcp(options: TcpProbeOptions): Promise<TcpProbeResult> {
  const source = parseAddress(options.source);
  const target = parseAddress(options.target);
  if (!source || !target) return Promise.resolve({ ok: false, error: 'bad address' });
  if (options.signal?.aborted) return Promise.resolve({ ok: false, error: 'aborted' });
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = net.connect({
      host: target.address,
      port: options.port,
      localAddress: source.address,
      family: target.family,
    });
    let done = false;
    const finish = (result: TcpProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (socket.readyState === 'open') socket.resetAndDestroy();
      else socket.destroy();
      resolve(result);
    };
    const elapsed = (): number => Math.round((performance.now() - started) * 1000) / 1000;
    const onAbort = (): void => finish({ ok: false, error: 'aborted' });
    const timer = setTimeout(() => finish({ ok: false, error: 'timeout' }), options.timeoutMs);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish({ ok: true, rttMs: elapsed() }));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') finish({ ok: true, rttMs: elapsed() });
      else finish({ ok: false, error: error.code ?? error.message });
    });
  });
}
