// The far end of every benchmark, run in its own process so that sender and receiver each have a core, as two
// hosts would. Role from argv; talks to bench/run.ts over the fork IPC channel.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { Operations, bindUdp, connectUdpChannel, socketAddress } from '../src/index.js';
import { LossyRelay } from '../src/testing/index.js';
import { type UdxConstructor, type UdxSocket, type UdxStream, udpEchoServer } from '@xpp/test-kit';

type Command = { port?: number; target?: number; drop?: number; seed?: number };
const role = process.argv[2];
// exit cleanly when the benchmark ends, so that --cpu-prof can write its profile
process.on('SIGTERM', () => process.exit(0));
const send = (message: object): void => {
  process.send?.(message);
};
const command = (): Promise<Command> =>
  new Promise((resolve) => process.once('message', (m) => resolve(m as Command)));

/** Counts octets until `total` arrive (or the line goes idle), then reports the rate from first to last. */
function meter(total: number, extra: () => object = () => ({})) {
  let bytes = 0;
  let first = 0;
  let last = 0;
  let idle: NodeJS.Timeout | undefined;
  const report = (): void => {
    send({ bytes, ms: last - first, ...extra() });
  };
  return (n: number): void => {
    const now = performance.now();
    if (bytes === 0) first = now;
    bytes += n;
    last = now;
    if (bytes >= total) report();
    else {
      // a raw blast may lose datagrams: report once the line has been quiet for a while
      clearTimeout(idle);
      idle = setTimeout(report, 500);
    }
  };
}

const total = Number(process.argv[3] ?? 64 * 1024 * 1024);

/** Binds, tells the runner its port, learns the runner's and connects a channel to it (ltag 2 to ltag 1). */
async function xppChannel(piggybackAcks = false) {
  const socket = await bindUdp();
  send({ port: socketAddress(socket).port });
  const { port } = await command();
  const remote = { address: '127.0.0.1', port: port as number };
  return connectUdpChannel({ socket, remote, localId: 2, remoteId: 1, piggybackAcks });
}

if (role === 'raw') {
  const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  const count = meter(total);
  socket.on('message', (d) => count(d.length));
  socket.bind(0, '127.0.0.1', () => send({ port: socket.address().port }));
} else if (role === 'tcp') {
  const count = meter(total);
  const server = createServer((s) => s.on('data', (d: Buffer) => count(d.length)));
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    send({ port: typeof address === 'object' && address !== null ? address.port : 0 });
  });
} else if (role === 'udx') {
  const UDX = createRequire(import.meta.url)('udx-native') as UdxConstructor;
  const udx = new UDX();
  const socket: UdxSocket = udx.createSocket();
  socket.bind(0, '127.0.0.1');
  const stream: UdxStream = udx.createStream(2);
  const count = meter(total);
  stream.on('data', (d: Buffer) => count(d.length));
  stream.on('error', () => {}); // the sender tears the stream down when done
  send({ port: socket.address().port });
  const { port } = await command();
  stream.connect(socket, 1, port as number, '127.0.0.1');
} else if (role === 'xpp') {
  const channel = await xppChannel();
  const count = meter(total, () => ({
    acks: channel.stats.ackDatagramsSent,
    datagrams: channel.stats.datagramsReceived,
  }));
  channel.on('message', ({ bytes }) => count(bytes.length));
  await channel.open();
} else if (role === 'relay') {
  const { target, drop, seed } = await command();
  const relay = await LossyRelay.create({
    target: { address: '127.0.0.1', port: target as number },
    drop: drop ?? 0,
    seed: seed ?? 1,
  });
  send({ port: relay.address.port });
} else if (role === 'echo-udp') {
  send({ port: (await udpEchoServer()).port });
} else if (role === 'echo-xpp' || role === 'echo-xpp-piggyback') {
  const channel = await xppChannel(role === 'echo-xpp-piggyback');
  new Operations(channel); // answers PING with its DATA
  await channel.open();
} else {
  throw new Error(`unknown role ${String(role)}`);
}
