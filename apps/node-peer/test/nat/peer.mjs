// One certified peer with its SIP front (registrar and proxy) for the NAT call test (test/nat-call.test.ts), run in a
// network namespace. It reads one JSON command per stdin line and writes one JSON answer per stdout line:
// {"id", "ok", ...}. argv: host sipPort xppPort; env XPP_ADMIN_KEY (PEM of the test's administrator key), XPP_DOMAIN.
// Runs the built package (dist/): `pnpm build` first.
import { createPublicKey, randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import {
  AdminKeySet,
  OverlayNode,
  createCredential,
  encodeCredential,
  exportAdminPublicKey,
  generatePeerIdentity,
  importAdminPrivateKey,
  issuePeerCertificate,
  signCredential,
} from '@xpp/dht';
import { SipHeaders, parseVia } from '@xpp/session-sdp';
import { SipFront, storeCredential } from '../../dist/index.js';

const [host, sipPort, xppPort] = process.argv.slice(2);
const domain = process.env.XPP_DOMAIN ?? 'localhost';
const adminKey = importAdminPrivateKey(process.env.XPP_ADMIN_KEY ?? '');
const admins = new AdminKeySet([exportAdminPublicKey(createPublicKey(adminKey))]);
const identity = generatePeerIdentity();
const now = Math.floor(Date.now() / 1000);
const certificate = issuePeerCertificate(
  { publicKey: identity.publicKey, domain, notBefore: now - 60, notAfter: now + 86_400 },
  adminKey,
);
const front = new SipFront({ domain, adminPublicKey: admins, membership: { identity, certificate, admins } });
const node = await OverlayNode.create({
  host,
  sipPort: Number(sipPort),
  xppPort: Number(xppPort),
  membership: { identity, certificate, admins, domain },
  adminPublicKey: admins,
  dimensions: 2,
  keepaliveInterval: 2_000,
  claimTimeout: 1_000,
  refreshInterval: 5_000,
  requestTimeout: 5_000,
  ...front.hooks,
});
front.attach(node);

/** OPTIONS from the SIP socket to `to`: opens this side's NAT toward it and says where it appears (rport). */
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
  punch: async ({ to }) => {
    const reflexive = await punch(to);
    if (reflexive.address !== host || reflexive.port !== Number(sipPort)) node.ua.advertise(reflexive);
    return { reflexive };
  },
  invite: async ({ uri }) => {
    const joined = await node.invite(uri);
    return { peerId: joined.peerId };
  },
  addUser: async ({ aor, password }) => {
    const credential = signCredential(
      createCredential({ aor, realm: domain, password, serial: Math.floor(Date.now() / 1000) }),
      adminKey,
    );
    await storeCredential(node, admins, encodeCredential(credential));
    return {};
  },
  status: async () => ({
    state: node.state,
    zones: node.stats.zones,
    contact: node.contact,
    neighbours: node.neighbours().map((n) => ({ id: n.id, linked: n.linked })),
    nat: front.natTraversal,
    sip: front.stats,
  }),
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
process.on(
  'SIGTERM',
  () =>
    void front
      .close()
      .then(() => node.close())
      .finally(() => process.exit(0)),
);
process.stdout.write(`${JSON.stringify({ id: 0, ok: true, ready: true })}\n`);
