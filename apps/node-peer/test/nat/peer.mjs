// One certified peer with its SIP front (registrar and proxy) for the NAT call test (test/nat-call.test.ts), run in a
// network namespace. It reads one JSON command per stdin line and writes one JSON answer per stdout line:
// {"id", "ok", ...}. argv: host sipPort xppPort; env XPP_ADMIN_KEY (PEM of the test's administrator key), XPP_DOMAIN.
// Runs the built package (dist/): `pnpm build` first.
import { createPublicKey } from 'node:crypto';
import { createInterface } from 'node:readline';
import {
  AdminKeySet,
  OverlayNode,
  createDefaultInvitePolicy,
  createCredential,
  encodeCredential,
  exportAdminPublicKey,
  generatePeerIdentity,
  importAdminPrivateKey,
  issuePeerCertificate,
  signCredential,
} from '@xpp/dht';
import { SipFront, registerAsCandidate, storeCredential } from '../../dist/index.js';

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
const front = new SipFront({
  domain,
  adminPublicKey: admins,
  membership: { identity, certificate, admins },
  // A candidate registered here is invited at once (no load threshold, no stable-flow wait).
  invitePolicy: createDefaultInvitePolicy({ maxClients: 0, minStableFlowMs: 0 }),
  inviteIntervalMs: 100,
});
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

const commands = {
  hello: async () => ({ peer: node.id, uri: node.ua.contactUri }),
  bootstrap: async () => {
    node.bootstrap();
    return {};
  },
  // `join --via`: registers as a candidate at a public peer, whose invite policy invites it where it appears from.
  join: async ({ via, aor, password }) => {
    await registerAsCandidate(node, via, { aor, password });
    return {};
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
