#!/usr/bin/env node
// Lab server: plain Node, no dependencies. Run inside a lab namespace with
// `ip netns exec`. Ports (each optional, repeatable):
//   --whoami PORT   write the peer's address + "\n" and close
//   --stream PORT   write "peer ADDR\n", then a numbered line every 20 ms
//                   until the client closes (at most 5 minutes a connection)
//   --udp PORT      answer each UDP datagram with the sender's address + "\n"
//                   (give --host when the namespace has several addresses, so
//                   the reply leaves from the address the query was sent to)
//   --host ADDR     listen address (default 0.0.0.0; `::` listens on both
//                   families, IPv4 peers then reported without ::ffff:)
//   --max-life-ms N exit after N ms whatever happens (default 30 min)
// Prints "ready" on stdout once every port listens.
import dgram from 'node:dgram';
import net from 'node:net';

const STREAM_INTERVAL_MS = 20;
const STREAM_MAX_MS = 5 * 60 * 1000;

function parseArgs(argv) {
  const opts = { whoami: [], stream: [], udp: [], host: '0.0.0.0', maxLifeMs: 30 * 60 * 1000 };
  for (let i = 0; i < argv.length; i += 2) {
    const [key, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`missing value for ${key}`);
    if (key === '--whoami') opts.whoami.push(Number(value));
    else if (key === '--stream') opts.stream.push(Number(value));
    else if (key === '--udp') opts.udp.push(Number(value));
    else if (key === '--host') opts.host = value;
    else if (key === '--max-life-ms') opts.maxLifeMs = Number(value);
    else throw new Error(`unknown option ${key}`);
  }
  return opts;
}

const unmapped = (addr) => String(addr ?? 'unknown').replace(/^::ffff:/, '');
const peerOf = (socket) => unmapped(socket.remoteAddress);

function whoami(socket) {
  socket.on('error', () => socket.destroy());
  socket.end(`${peerOf(socket)}\n`);
}

function stream(socket) {
  let n = 0;
  const stop = () => {
    clearInterval(tick);
    clearTimeout(limit);
    socket.destroy();
  };
  socket.setNoDelay(true);
  socket.write(`peer ${peerOf(socket)}\n`);
  const tick = setInterval(() => socket.write(`${++n}\n`), STREAM_INTERVAL_MS);
  const limit = setTimeout(stop, STREAM_MAX_MS);
  socket.on('close', stop);
  socket.on('error', stop);
  socket.on('end', stop);
  socket.resume();
}

function listen(port, host, handler) {
  return new Promise((resolve, reject) => {
    const server = net.createServer(handler);
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

function listenUdp(port, host) {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    socket.once('error', reject);
    socket.on('message', (_msg, rinfo) => {
      socket.send(`${unmapped(rinfo.address)}\n`, rinfo.port, rinfo.address, () => undefined);
    });
    socket.bind(port, host, () => {
      socket.removeListener('error', reject);
      socket.on('error', () => undefined);
      resolve(socket);
    });
  });
}

const opts = parseArgs(process.argv.slice(2));
setTimeout(() => process.exit(0), opts.maxLifeMs).unref();
process.on('SIGTERM', () => process.exit(0));
await Promise.all([
  ...opts.whoami.map((port) => listen(port, opts.host, whoami)),
  ...opts.stream.map((port) => listen(port, opts.host, stream)),
  ...opts.udp.map((port) => listenUdp(port, opts.host)),
]);
process.stdout.write('ready\n');
