// The far end of the endpoint bench's baselines, in its own process like the XPP peer (endpoint-peer.ts):
// `secret-stream <octets>` receives one SecretStream transfer over udx-native and says when the last octet is in;
// `udp-echo` echoes datagrams. Prints its port, then (secret-stream) reads the sender's; `quit` ends it.
import { udpEchoServer } from '@xpp/test-kit';
import { parentLines } from './peer-process.js';
import { secretStreamEnd } from './secret-stream.js';

const print = (line: string) => process.stdout.write(`${line}\n`);
const lines = parentLines();
/** Until the parent says `quit`; other lines are not expected then. */
async function untilQuit(): Promise<void> {
  for (let next = await lines.next(); next.done !== true; next = await lines.next());
}
const role = process.argv[2];
if (role === 'secret-stream') {
  const total = Number(process.argv[3]);
  const end = secretStreamEnd(false);
  print(String(end.socket.address().port));
  const sender = await lines.next();
  const secure = end.connect(Number(sender.value));
  let received = 0;
  secure.on('data', (data) => {
    const before = received;
    received += data.length;
    if (before < total && received >= total) print(`received ${received}`);
  });
  await untilQuit();
  secure.destroy();
  await end.socket.close();
} else if (role === 'udp-echo') {
  const server = await udpEchoServer();
  print(String(server.port));
  await untilQuit();
  server.close();
} else {
  throw new Error(`unknown role ${String(role)}`);
}
process.exit(0);
