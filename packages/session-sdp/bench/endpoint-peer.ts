// The far side of the endpoint benchmark, in its own process: answers one session and sinks what arrives.
// Protocol on stdio (peer-process.ts): the parent writes the offer (one JSON line), this prints the answer (one
// JSON line), then the session opens; 'quit' on stdin ends it.
import { XppEndpoint, type XppDescription } from '../src/index.js';
import { descriptionFromJson, descriptionToJson } from './description-json.js';
import { useAead } from './node-crypto-aead.js';
import { parentLines } from './peer-process.js';

const security = process.argv[2] === 'plain' ? 'off' : 'required';
useAead(process.argv[3] === 'node-crypto' ? 'node-crypto' : 'sodium');
const endpoint = await XppEndpoint.bind({ security });
let received = 0;
for await (const line of parentLines()) {
  const offer: XppDescription = descriptionFromJson(line);
  const prepared = endpoint.prepare();
  process.stdout.write(`${descriptionToJson(prepared.description)}\n`);
  const session = await prepared.open(offer);
  void (async () => {
    for await (const m of session.messages()) received += m.bytes.length;
  })().catch(() => undefined);
}
process.stderr.write(`received ${received}\n`);
await endpoint.close();
process.exit(0);
