// What the engine's JavaScript costs per PING round trip, both sides together, with no sockets: two channels
// hand datagrams to each other in memory. Reliable against unreliable sends isolates the cost of reliability.
// `node --import tsx bench/round-trip-cpu.ts`; used to profile (`--cpu-prof`), not part of `pnpm bench`.
import { Operation, Option } from '@xpp/wire';
import { Operations, ReliableChannel, type SendOptions } from '../src/index.js';
import { pooledAllocator } from '@xpp/wire';

const ROUND_TRIPS = 30_000;

async function measure(reliable: boolean, piggybackAcks = false): Promise<number> {
  const toA: Uint8Array[] = [];
  const toB: Uint8Array[] = [];
  const allocate = pooledAllocator(); // as the UDP adapter does
  const a = new ReliableChannel({
    localId: 1,
    remoteId: 2,
    initialSeq: 10,
    peerInitialSeq: 20,
    allocate,
    piggybackAcks,
    port: { send: (d) => toB.push(d) },
  });
  const b = new ReliableChannel({
    localId: 2,
    remoteId: 1,
    initialSeq: 20,
    peerInitialSeq: 10,
    allocate,
    piggybackAcks,
    port: { send: (d) => toA.push(d) },
  });
  if (!reliable) {
    for (const channel of [a, b]) {
      const send = channel.send.bind(channel);
      channel.send = (message, options: SendOptions = {}) => send(message, { ...options, reliable: false });
    }
  }
  const client = new Operations(a);
  new Operations(b);
  const data = [Option.DATA.option(new Uint8Array(100))];
  const deliver = (): void => {
    while (toA.length > 0 || toB.length > 0) {
      const forB = toB.shift();
      if (forB !== undefined) b.receive(forB);
      const forA = toA.shift();
      if (forA !== undefined) a.receive(forA);
    }
  };
  // CPU time, not wall time: the machine these run on is often shared, and another process's turn is not ours.
  const started = process.cpuUsage();
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const response = client.request(Operation.PING.type, data);
    deliver();
    await response;
    if (i % 8 === 0) {
      // let the delayed ACKs go out, as the event loop would
      await new Promise((resolve) => setImmediate(resolve));
      deliver();
    }
  }
  const used = process.cpuUsage(started);
  const microseconds = (used.user + used.system) / ROUND_TRIPS;
  a.close();
  b.close();
  return microseconds;
}

for (let round = 0; round < Number(process.env['ROUNDS'] ?? 3); round++) {
  const reliable = await measure(true);
  const piggybacked = await measure(true, true);
  const unreliable = await measure(false);
  console.log(
    `reliable ${reliable.toFixed(1)} µs, with piggybacked ACKs ${piggybacked.toFixed(1)} µs, ` +
      `unreliable ${unreliable.toFixed(1)} µs per round trip`,
  );
}
