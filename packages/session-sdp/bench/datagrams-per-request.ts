// Datagrams on the wire per request/response between two XppEndpoints on loopback (sealed sessions, the
// defaults): piggybacked ACKs as negotiated by default, against one side configured `piggybackAcks: false`
// (stand-alone ACKs, as with a peer from before), interleaved round by round. Counted at both sockets (every
// datagram received: requests, responses, stand-alone ACKs), one request at a time as a client sends them.
// `node --import tsx bench/datagrams-per-request.ts`; the last line printed is one JSON object.
import { loadavg } from 'node:os';
import { Operation, Option } from '@xpp/wire';
import { XppEndpoint } from '../src/index.js';

const EXCHANGES = Number(process.env['BENCH_EXCHANGES'] ?? 2000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function perRequest(piggybackOnBoth: boolean): Promise<{ datagrams: number; p50Us: number }> {
  const a = await XppEndpoint.bind();
  const b = await XppEndpoint.bind(piggybackOnBoth ? {} : { piggybackAcks: false });
  try {
    const pa = a.prepare();
    const pb = b.prepare();
    const [sa] = await Promise.all([pa.open(pb.description), pb.open(pa.description)]);
    const data = [Option.DATA.option(new Uint8Array(100).fill(1))];
    for (let i = 0; i < 200; i++) await sa.request(Operation.PING.type, data); // warm-up
    await new Promise((r) => setTimeout(r, 20)); // the warm-up's last stand-alone ACKs
    const before = a.stats.datagramsReceived + b.stats.datagramsReceived;
    const times: number[] = [];
    for (let i = 0; i < EXCHANGES; i++) {
      const start = performance.now();
      await sa.request(Operation.PING.type, data);
      times.push((performance.now() - start) * 1000);
    }
    await new Promise((r) => setTimeout(r, 20)); // and the last ones of the measured run
    const after = a.stats.datagramsReceived + b.stats.datagramsReceived;
    return { datagrams: (after - before) / EXCHANGES, p50Us: median(times) };
  } finally {
    await a.close();
    await b.close();
  }
}

const on: { datagrams: number; p50Us: number }[] = [];
const off: { datagrams: number; p50Us: number }[] = [];
for (let round = 0; round < ROUNDS; round++) {
  off.push(await perRequest(false));
  on.push(await perRequest(true));
}
const figure = (rs: { datagrams: number; p50Us: number }[], key: 'datagrams' | 'p50Us') =>
  Number(median(rs.map((r) => r[key])).toFixed(2));
const show = (rs: { datagrams: number }[]) => rs.map((r) => r.datagrams.toFixed(2)).join(', ');
console.log(`datagrams per request/response, piggybacked (default): ${show(on)}; stand-alone: ${show(off)}`);
console.log(
  JSON.stringify({
    datagramsPerRequest: figure(on, 'datagrams'),
    datagramsPerRequestStandaloneAcks: figure(off, 'datagrams'),
    p50Us: figure(on, 'p50Us'),
    p50UsStandaloneAcks: figure(off, 'p50Us'),
    load: Number(loadavg()[0]?.toFixed(1)),
  }),
);
