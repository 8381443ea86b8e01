// The baseline of bench/transports.bench.ts: a bare `node:tls` server, or a `ws` server over `node:https` requiring
// the `sip` subprotocol, holding every connection it gets and answering a CRLF CRLF keep-alive with a CRLF, as the
// peer does. `node --import tsx bare-stream-server.ts tls|wss <dir with cert.pem and key.pem>`; prints its port.
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { WebSocketServer } from 'ws';

const [kind, dir] = process.argv.slice(2) as [string, string];
const tls = { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) };
const PING = '\r\n\r\n';

if (kind === 'tls') {
  const server = createTlsServer(tls, (socket) => {
    socket.on('data', (d: Buffer) => {
      if (d.toString() === PING) socket.write('\r\n');
    });
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1', () => console.log(`port ${(server.address() as AddressInfo).port}`));
} else {
  const https = createHttpsServer(tls);
  const wss = new WebSocketServer({
    server: https,
    handleProtocols: (protocols) => (protocols.has('sip') ? 'sip' : false),
  });
  wss.on('connection', (ws) => {
    ws.on('message', (d: Buffer) => {
      if (d.toString() === PING) ws.send('\r\n');
    });
    ws.on('error', () => undefined);
  });
  https.listen(0, '127.0.0.1', () => console.log(`port ${(https.address() as AddressInfo).port}`));
}
