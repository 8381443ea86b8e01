// One certified overlay peer for the NAT test bed (test/nat-overlay.test.ts), run in a network namespace. It reads
// one JSON command per stdin line and writes one JSON answer per stdout line: {"id", "ok", ...}.
// argv: host sipPort xppPort; env XPP_ADMIN_KEY (PEM of the test's administrator key), XPP_DOMAIN.
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import {
  AdminKeySet,
  OverlayNode,
  RecordKind,
  exportAdminPublicKey,
  generatePeerIdentity,
  importAdminPrivateKey,
  issuePeerCertificate,
  peerRecordCodec,
  peerRecordKey,
} from '@xpp/dht';
import { hashKey } from '@xpp/can';
import { SipHeaders, parseVia } from '@xpp/session-sdp';
import { createPublicKey } from 'node:crypto';

const [host, sipPort, xppPort] = process.argv.slice(2);
const domain = process.env.XPP_DOMAIN ?? 'nat.invalid';
const adminKey = importAdminPrivateKey(process.env.XPP_ADMIN_KEY ?? '');
const identity = generatePeerIdentity();
const now = Math.floor(Date.now() / 1000);
const certificate = issuePeerCertificate(
  { publicKey: identity.publicKey, domain, notBefore: now - 60, notAfter: now + 86_400 },
  adminKey,
);
const node = await OverlayNode.create({
  host,
  sipPort: Number(sipPort),
  xppPort: Number(xppPort),
  membership: {
    identity,
    certificate,
    admins: new AdminKeySet([exportAdminPublicKey(createPublicKey(adminKey))]),
    domain,
  },
  dimensions: Number(process.env.XPP_DIMENSIONS ?? 4),
  keepaliveInterval: 2_000,
  claimTimeout: 1_000,
  refreshInterval: 5_000,
  requestTimeout: 5_000,
});

/** Sends OPTIONS from the SIP socket to `to`: opens this side's NAT mapping toward it and says where it appears. */
function punch(to) {
  const token = () => randomBytes(6).toString('hex');
  const headers = new SipHeaders()
    .append('Via', node.ua.layer.newVia())
    .append('Max-Forwards', '70')
    .append('From', `<sip:${node.id}@${host}>;tag=${token()}`)
    .append('To', `<sip:${to.address}:${to.port}>`)
    .append('Call-ID', `${token()}@${host}`)
    .append('CSeq', '1 OPTIONS');
  return new Promise((resolve, reject) => {
    node.ua.layer.sendRequest(
      {
        kind: 'request',
        method: 'OPTIONS',
        uri: `sip:${to.address}:${to.port}`,
        headers,
        body: new Uint8Array(0),
      },
      to,
      {
        response: (r) => {
          if (r.status < 200) return;
          const via = parseVia(r.headers.get('via') ?? '');
          const address = via?.params.get('received');
          const port = Number(via?.params.get('rport'));
          resolve({
            address: typeof address === 'string' ? address : host,
            port: port > 0 ? port : Number(sipPort),
          });
        },
        timeout: () => reject(new Error('OPTIONS timed out')),
        transportError: reject,
      },
    );
  });
}

const commands = {
  hello: async () => ({ peer: node.id, uri: node.ua.contactUri }),
  bootstrap: async () => {
    node.bootstrap();
    return {};
  },
  // Behind a NAT, the SIP address the public side saw goes in the Contact (its ACK and BYE come back through it).
  punch: async ({ to }) => {
    const reflexive = await punch(to);
    if (reflexive.address !== host || reflexive.port !== Number(sipPort)) node.ua.advertise(reflexive);
    return { reflexive };
  },
  invite: async ({ uri }) => {
    const joined = await node.invite(uri);
    return { peerId: joined.peerId, zone: joined.zone.toString() };
  },
  announce: async () => {
    const lifetime = await node.put(
      peerRecordKey(node.id),
      RecordKind.PEER,
      peerRecordCodec.encode({ peerId: node.peerId, contact: node.contact }),
      600,
    );
    return { lifetime };
  },
  lookup: async ({ peer }) => {
    const records = await node.get(peerRecordKey(peer), RecordKind.PEER);
    return { contacts: records.map((r) => peerRecordCodec.decode(r.value).contact) };
  },
  // A key whose point lies in this node's own zones: a request for it ends here.
  ownKey: async () => {
    for (let i = 0; ; i++) {
      const key = `relay-test-${i}`;
      const point = hashKey(key, node.dimensions);
      if (node.zones.some((z) => z.contains(point))) return { key };
    }
  },
  put: async ({ key }) => {
    const value = peerRecordCodec.encode({ peerId: node.peerId, contact: node.contact });
    return { lifetime: await node.put(key, RecordKind.PEER, value, 600) };
  },
  get: async ({ key }) => ({ records: (await node.get(key, RecordKind.PEER)).length }),
  relay: async () => ({ relay: node.endpoint.relay.stats }),
  status: async () => {
    const stats = node.stats;
    return {
      state: node.state,
      zones: stats.zones,
      settled: stats.settled,
      records: stats.recordsByRole,
      refused: stats.refused,
      contact: node.contact,
      neighbours: node.neighbours().map((n) => ({ id: n.id, linked: n.linked, relay: n.relay })),
      operations: stats.operations,
      hops: stats.hops,
      stun: node.endpoint.stats.stun,
      sessions: node.endpoint.sessions().map((s) => s.remote),
    };
  },
};

createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line);
  const run = commands[command.op];
  void (run === undefined ? Promise.reject(new Error(`unknown op ${command.op}`)) : run(command)).then(
    (result) => process.stdout.write(`${JSON.stringify({ ...result, id: command.id, ok: true })}\n`),
    (error) =>
      process.stdout.write(
        `${JSON.stringify({ id: command.id, ok: false, error: String(error?.stack ?? error) })}\n`,
      ),
  );
});
process.on('SIGTERM', () => void node.close().finally(() => process.exit(0)));
process.stdout.write(`${JSON.stringify({ id: 0, ok: true, ready: true })}\n`);
