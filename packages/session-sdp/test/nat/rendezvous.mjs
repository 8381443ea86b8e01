// The public side of the NAT test: a STUN responder and a minimal SIP registrar/proxy. Users REGISTER from
// behind their NATs; every request is routed by the user part of its Request-URI to that user's registered
// flow (the NAT mapping REGISTER opened), with Record-Route so in-dialog requests come back through here.
import { createSocket } from 'node:dgram';
import {
  createResponse,
  decodeSip,
  encodeMappedAddress,
  encodeStunMessage,
  decodeStunMessage,
  formatVia,
  isStunMessage,
  parseNameAddr,
  parseSipUri,
  parseVia,
  responseTarget,
  serializeSip,
  stampReceived,
  StunType,
} from '@xpp/session-sdp';

const [address] = process.argv.slice(2);
const sip = createSocket('udp4');
const stun = createSocket('udp4');
const flows = new Map();
const route = `<sip:${address}:5060;lr>`;
let branch = 0;

stun.on('message', (bytes, from) => {
  if (!isStunMessage(bytes)) return;
  const request = decodeStunMessage(bytes);
  if (request.type !== StunType.BINDING_REQUEST) return;
  const reply = encodeStunMessage({
    type: StunType.BINDING_SUCCESS,
    transactionId: request.transactionId,
    attributes: [encodeMappedAddress({ address: from.address, port: from.port }, request.transactionId)],
  });
  stun.send(reply, from.port, from.address);
});

const send = (message, to) => sip.send(serializeSip(message), to.port, to.address);

sip.on('message', (bytes, from) => {
  const decoded = decodeSip(bytes);
  if (!decoded.ok) return;
  const message = decoded.message;
  const source = { address: from.address, port: from.port };
  if (message.kind === 'response') {
    // Our Via on top: remove it and send to the next one's received/rport (the caller's NAT mapping).
    const vias = message.headers.getAll('via');
    message.headers.delete('via');
    for (const via of vias.slice(1)) message.headers.append('Via', via);
    const next = parseVia(vias[1] ?? '');
    if (next) send(message, responseTarget(next));
    return;
  }
  const top = parseVia(message.headers.get('via') ?? '');
  if (!top) return;
  message.headers.setFirst('Via', formatVia(stampReceived(top, source)));
  const user = parseSipUri(message.uri)?.user;
  if (message.method === 'REGISTER') {
    const aor = parseSipUri(parseNameAddr(message.headers.get('to') ?? '')?.uri ?? '')?.user;
    if (aor) flows.set(aor, source);
    process.stdout.write(`registered ${aor} at ${source.address}:${source.port}\n`);
    send(createResponse(message, 200, { toTag: 'reg' }), responseTarget(stampReceived(top, source)));
    return;
  }
  const flow = user === undefined ? undefined : flows.get(user);
  if (!flow) {
    if (message.method !== 'ACK')
      send(createResponse(message, 404, { toTag: 'nf' }), responseTarget(stampReceived(top, source)));
    return;
  }
  // Drop our own Route (loose routing), record-route dialog-forming INVITEs, add our Via, forward.
  const routes = message.headers.getAll('route').filter((r) => !r.includes(`${address}:5060`));
  message.headers.delete('route');
  for (const r of routes) message.headers.append('Route', r);
  if (message.method === 'INVITE') message.headers.prepend('Record-Route', route);
  message.headers.prepend('Via', `SIP/2.0/UDP ${address}:5060;branch=z9hG4bK-rdv-${++branch}`);
  send(message, flow);
});

stun.bind(3478, address);
sip.bind(5060, address, () => process.stdout.write('ready\n'));
