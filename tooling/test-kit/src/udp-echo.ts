// The raw UDP echo the benchmarks put XPP's request/response latency next to: what one round trip through the
// kernel and Node's dgram costs on the same machine in the same run, with nothing of XPP's on top.
import { createSocket } from 'node:dgram';

/** An echo server on loopback: every datagram goes back to its sender. Run it in its own process, as a peer. */
export async function udpEchoServer(): Promise<{ port: number; close(): void }> {
  const socket = createSocket('udp4');
  socket.on('message', (d, from) => socket.send(d, from.port, from.address));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, close: () => socket.close() };
}

/**
 * A client of `udpEchoServer` for sequential round trips of `octets`-octet datagrams: `roundTrip()` sends one
 * and resolves when it is back (no loss on loopback, so no timer).
 */
export async function udpEchoClient(
  port: number,
  octets: number,
): Promise<{ roundTrip(): Promise<void>; close(): void }> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.connect(port, '127.0.0.1', resolve));
  const payload = Buffer.alloc(octets, 1);
  let waiter: (() => void) | undefined;
  socket.on('message', () => waiter?.());
  return {
    roundTrip: () =>
      new Promise<void>((resolve) => {
        waiter = resolve;
        socket.send(payload);
      }),
    close: () => socket.close(),
  };
}
