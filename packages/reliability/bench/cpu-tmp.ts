import { Operation, Option } from '@xpp/wire';
import { Operations, ReliableChannel } from '../src/index.js';
const reliable = process.argv[2] !== 'unreliable';
const qa: Uint8Array[] = [];
const qb: Uint8Array[] = [];
const a = new ReliableChannel({
  localId: 1,
  remoteId: 2,
  initialSeq: 10,
  peerInitialSeq: 20,
  port: { send: (d) => qb.push(d) },
  allocate: (n) => Buffer.allocUnsafe(n),
});
const b = new ReliableChannel({
  localId: 2,
  remoteId: 1,
  initialSeq: 20,
  peerInitialSeq: 10,
  port: { send: (d) => qa.push(d) },
  allocate: (n) => Buffer.allocUnsafe(n),
});
if (!reliable) {
  const sa = a.send.bind(a);
  a.send = (m, o = {}) => sa(m, { ...o, reliable: false });
  const sb = b.send.bind(b);
  b.send = (m, o = {}) => sb(m, { ...o, reliable: false });
}
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
const N = 30000;
for (let round = 0; round < 4; round++) {
  const t = performance.now();
  for (let i = 0; i < N; i++) {
    const p = ops.request(Operation.PING.type, data);
    pump();
    await p;
    if (i % 8 === 0) {
      await new Promise((r) => setImmediate(r));
      pump();
    }
  }
  console.log(
    reliable ? 'reliable' : 'unreliable',
    'µs per round trip',
    (((performance.now() - t) * 1000) / N).toFixed(1),
  );
}
process.exit(0);
