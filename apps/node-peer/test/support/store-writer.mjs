// Child process of the kill -9 test (test/sqlite-store.test.ts): writes bindings into a SqliteRecordStore as fast
// as it can and prints each key after its put returned, i.e. after the store said it was committed.
import { bindingCodec, RecordKind } from '@xpp/dht';
import { systemClock } from '@xpp/reliability';
import { SqliteRecordStore } from '../../dist/index.js';

const file = process.argv[2];
const store = SqliteRecordStore.open({ file, clock: systemClock, maxRecords: 1_000_000, maxOctets: 1 << 30 });
for (let i = 0; ; i++) {
  const key = `sip:user${i}@example.org`;
  const value = bindingCodec.encode({
    instanceId: `urn:uuid:${i}`,
    regId: 1,
    contact: `sip:user${i}@192.0.2.1:5060`,
    flowPeer: Uint8Array.of(1),
  });
  store.put({ key, kind: RecordKind.BINDING, value, lifetime: 3600 });
  // stdout to a pipe is synchronous on Linux: the parent sees a key only once its put has returned.
  process.stdout.write(`${key}\n`);
}
