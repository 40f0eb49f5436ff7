#!/usr/bin/env node
// Lab client: plain Node, no dependencies. Run inside a lab namespace with
// `ip netns exec`. Hosts and --bind addresses may be IPv4 or IPv6. Modes
// (first argument):
//   whoami  --host H --port P [--count N] [--timeout MS] [--bind ADDR] [--concurrency C] [--sport PORT]
//           N new TCP connections in this one process; prints one JSON line
//           {"counts": {"<reply>": n, "error": n}, "errors": ["..."]}
//           --sport: every connection from this local port (use --concurrency 1)
//   udp     --host H --port P [--count N] [--timeout MS] [--bind ADDR] [--concurrency C] [--sport PORT]
//           N queries, each from a new UDP socket (a new flow), each waiting
//           for one reply datagram; prints the same JSON line as whoami
//   request --host H --port P [--timeout MS] [--bind ADDR]
//           one connection, prints {"ok": true, "reply": "..."} or {"ok": false, "error": "..."}
//   stream  --host H --port P [--bind ADDR] [--status-ms MS] [--max-life-ms MS]
//           reads the server's line stream; prints a JSON status line every
//           status-ms and a final one on SIGTERM/SIGINT or when the stream ends.
import dgram from 'node:dgram';
import net from 'node:net';

const GAP_MS = 1000;

function parseArgs(argv) {
  const opts = { mode: argv[0], host: '', port: 0, count: 1, timeout: 3000, bind: undefined,
    concurrency: 8, statusMs: 100, maxLifeMs: 10 * 60 * 1000, sport: undefined };
  const keys = { '--host': 'host', '--port': 'port', '--count': 'count', '--timeout': 'timeout',
    '--bind': 'bind', '--concurrency': 'concurrency', '--status-ms': 'statusMs', '--max-life-ms': 'maxLifeMs',
    '--sport': 'sport' };
  for (let i = 1; i < argv.length; i += 2) {
    const key = keys[argv[i]];
    if (!key || argv[i + 1] === undefined) throw new Error(`bad option ${argv[i]}`);
    opts[key] = key === 'host' || key === 'bind' ? argv[i + 1] : Number(argv[i + 1]);
  }
  if (!opts.host || !opts.port) throw new Error('--host and --port are required');
  return opts;
}

/** One connection: resolves with the trimmed reply, rejects on error/timeout. */
function requestOnce({ host, port, bind, timeout, sport }) {
  return new Promise((resolve, reject) => {
    let data = '';
    const socket = net.connect({ host, port, localAddress: bind, ...(sport ? { localPort: sport } : {}) });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timeout after ${timeout} ms`));
    }, timeout);
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => { data += chunk; });
    socket.on('error', (err) => { clearTimeout(timer); reject(err); });
    socket.on('end', () => { clearTimeout(timer); socket.destroy(); resolve(data.trim()); });
  });
}

/** One UDP query from a fresh socket: resolves with the trimmed reply, rejects on error/timeout. */
function queryOnce({ host, port, bind, timeout, sport }) {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    let finished = false;
    const done = (fn) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.close();
      fn();
    };
    const timer = setTimeout(() => done(() => reject(new Error(`timeout after ${timeout} ms`))), timeout);
    socket.on('error', (err) => done(() => reject(err)));
    socket.on('message', (msg) => done(() => resolve(msg.toString('utf8').trim())));
    socket.bind({ address: bind, port: sport ?? 0 }, () => {
      socket.send('who\n', port, host, (err) => { if (err) done(() => reject(err)); });
    });
  });
}

async function whoami(opts, once = requestOnce) {
  const counts = {};
  const errors = [];
  let next = 0;
  const worker = async () => {
    while (next < opts.count) {
      next += 1;
      try {
        const reply = await once(opts);
        counts[reply] = (counts[reply] ?? 0) + 1;
      } catch (err) {
        counts.error = (counts.error ?? 0) + 1;
        errors.push(err.code ?? err.message);
      }
    }
  };
  const workers = Math.max(1, Math.min(opts.concurrency, opts.count));
  await Promise.all(Array.from({ length: workers }, worker));
  process.stdout.write(`${JSON.stringify({ counts, errors })}\n`);
}

async function request(opts) {
  try {
    process.stdout.write(`${JSON.stringify({ ok: true, reply: await requestOnce(opts) })}\n`);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: err.code ?? err.message })}\n`);
  }
}

function stream(opts) {
  const started = Date.now();
  const st = { connected: false, closed: false, error: undefined, seenAs: undefined,
    bytes: 0, lines: 0, gaps: 0, maxGapMs: 0, lastData: 0, buffer: '' };
  const status = () => {
    const now = Date.now();
    const silentMs = st.lastData ? now - st.lastData : now - started;
    return { connected: st.connected, alive: st.connected && !st.closed && silentMs <= GAP_MS,
      closed: st.closed, error: st.error, seenAs: st.seenAs, bytes: st.bytes, lines: st.lines,
      gaps: st.gaps, maxGapMs: Math.max(st.maxGapMs, st.closed ? 0 : silentMs), silentMs,
      elapsedMs: now - started };
  };
  const print = () => process.stdout.write(`${JSON.stringify(status())}\n`);
  const onData = (chunk) => {
    const now = Date.now();
    if (st.lastData) {
      const gap = now - st.lastData;
      if (gap > GAP_MS) st.gaps += 1;
      st.maxGapMs = Math.max(st.maxGapMs, gap);
    }
    st.lastData = now;
    st.bytes += chunk.length;
    st.buffer += chunk;
    const parts = st.buffer.split('\n');
    st.buffer = parts.pop() ?? '';
    for (const line of parts) {
      if (line.startsWith('peer ')) st.seenAs = line.slice(5);
      else st.lines += 1;
    }
  };
  const finish = () => {
    print();
    process.exit(0);
  };
  const socket = net.connect({ host: opts.host, port: opts.port, localAddress: opts.bind });
  socket.setEncoding('utf8');
  socket.on('connect', () => { st.connected = true; });
  socket.on('data', onData);
  socket.on('error', (err) => { st.error = err.code ?? err.message; });
  socket.on('close', () => { st.closed = true; });
  setInterval(print, opts.statusMs);
  setTimeout(finish, opts.maxLifeMs);
  process.on('SIGTERM', finish);
  process.on('SIGINT', finish);
}

const opts = parseArgs(process.argv.slice(2));
if (opts.mode === 'whoami') await whoami(opts);
else if (opts.mode === 'udp') await whoami(opts, queryOnce);
else if (opts.mode === 'request') await request(opts);
else if (opts.mode === 'stream') stream(opts);
else throw new Error(`unknown mode ${opts.mode}`);
