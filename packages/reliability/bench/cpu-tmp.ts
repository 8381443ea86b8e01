import { Operation, Option } from '@xpp/wire';
import { Operations, ReliableChannel, systemClock } from '../src/index.js';
const qa: Uint8Array[] = [];
const qb: Uint8Array[] = [];
const a = new ReliableChannel({
  localId: 1,
  remoteId: 2,
  initialSeq: 10,
  peerInitialSeq: 20,
  port: { send: (d) => qb.push(d) },
});
const b = new ReliableChannel({
  localId: 2,
  remoteId: 1,
  initialSeq: 20,
  peerInitialSeq: 10,
  port: { send: (d) => qa.push(d) },
});
const ops = new Operations(a);
new Operations(b);
const data = [Option.DATA.option(new Uint8Array(100))];
const pump = () => {
  while (qa.length || qb.length) {
    const x = qb.shift();
    if (x) b.receive(x);
    const y = qa.shift();
    if (y) a.receive(y);
  }
};
const N = 20000;
for (let round = 0; round < 3; round++) {
  const t = performance.now();
  for (let i = 0; i < N; i++) {
    const p = ops.request(Operation.PING.type, data);
    pump();
    await p;
    await new Promise((r) => setImmediate(r));
    pump();
  }
  console.log(
    'µs per round trip (CPU, both sides, incl. setImmediate hop)',
    (((performance.now() - t) * 1000) / N).toFixed(1),
  );
}
let t = performance.now();
for (let i = 0; i < N; i++) await new Promise((r) => setImmediate(r));
console.log('setImmediate hop alone', (((performance.now() - t) * 1000) / N).toFixed(1));
process.exit(0);
