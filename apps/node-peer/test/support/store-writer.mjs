// Child process of the kill -9 test (test/sqlite-store.test.ts): writes bindings into a SqliteRecordStore as fast
// as it can, a few per event-loop turn as a busy node does (the store commits each turn's writes as one group), and
// prints each key only once `durable()` settled after its put, i.e. after the store said it was committed.
import { bindingCodec, RecordKind } from '@xpp/dht';
import { systemClock } from '@xpp/reliability';
import { SqliteRecordStore } from '../../dist/index.js';

const file = process.argv[2];
const store = SqliteRecordStore.open({ file, clock: systemClock, maxRecords: 1_000_000, maxOctets: 1 << 30 });
let i = 0;
for (let turn = 0; ; turn++) {
  const keys = [];
  // 1 to 16 puts a turn, varied so that the kill lands in groups of every size.
  for (let n = 1 + (turn % 16); n > 0; n--, i++) keys.push(put(i));
  await store.durable();
  // stdout to a pipe is synchronous on Linux: the parent sees a key only once its group was committed.
  process.stdout.write(`${keys.join('\n')}\n`);
  // Lets the turn end, as a node's does: the next puts open the next group.
  await new Promise((resolve) => setImmediate(resolve));
}

function put(i) {
  const key = `sip:user${i}@example.org`;
  const value = bindingCodec.encode({
    instanceId: `urn:uuid:${i}`,
    regId: 1,
    contact: `sip:user${i}@192.0.2.1:5060`,
    flowPeer: Uint8Array.of(1),
  });
  store.put({ key, kind: RecordKind.BINDING, value, lifetime: 3600 });
  return key;
}
