import { generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bindingCodec,
  computeDigestResponse,
  computeHa1,
  createCredential,
  decodeCredentialRecord,
  DhtError,
  encodeCredential,
  generateAdminKeyPair,
  LocationService,
  OverlayNode,
  RecordKind,
  signCredential,
  signCredentialRemoval,
  type Binding,
  type DigestResponseFields,
  type OriginAuthority,
} from '@xpp/dht';
import { toHex } from '@xpp/wire';
import { growOverlay, settle } from './overlay-support.js';

// REGISTER-BIND and AUTHORIZE (spec §5.6) over three peers on real UDP. The ORIGIN is signed here by a stand-in for
// the membership authority (Ed25519 per peer, keys known to all), so that forged origins can be attacked.

const admin = generateAdminKeyPair();
const keys = new Map<string, KeyObject>();
const nodes: OverlayNode[] = [];
let services: LocationService[] = [];
const AOR = 'sip:alice@example.org';

/** ORIGIN = peer id (16) ‖ Ed25519 signature of the peer whose id it names. */
function authority(peerId: Uint8Array, privateKey: KeyObject): OriginAuthority {
  return {
    verified: true,
    sign: (bytes) => Buffer.concat([peerId, sign(null, bytes, privateKey)]),
    verify: (origin, bytes) => {
      const id = toHex(origin.subarray(0, 16));
      const key = keys.get(id);
      if (key === undefined || !verify(null, bytes, key, origin.subarray(16)))
        throw new DhtError('FORBIDDEN', 'bad origin signature');
      return id;
    },
  };
}

async function peer(options: { signWith?: KeyObject } = {}): Promise<OverlayNode> {
  const peerId = new Uint8Array(randomBytes(16));
  const pair = generateKeyPairSync('ed25519');
  keys.set(toHex(peerId), pair.publicKey);
  return OverlayNode.create({
    dimensions: 2,
    peerId,
    adminPublicKey: admin.publicKey,
    origin: authority(peerId, options.signWith ?? pair.privateKey),
  });
}

function answer(password: string, overrides: Partial<DigestResponseFields> = {}): DigestResponseFields {
  const base = {
    username: 'alice',
    realm: 'example.org',
    nonce: 'n0nce',
    uri: 'sip:example.org',
    method: 'REGISTER',
    algorithm: 'SHA-256',
    qop: 'auth',
    nc: '00000001',
    cnonce: 'c0ffee',
  };
  const ha1 = computeHa1('SHA-256', base.username, base.realm, password);
  return { ...base, response: computeDigestResponse('SHA-256', ha1, base), ...overrides };
}

const bindingOf = (node: OverlayNode, instance = 'urn:uuid:1'): Binding => ({
  instanceId: instance,
  regId: 1,
  contact: 'sip:alice@192.0.2.7:5060',
  flowPeer: node.peerId,
});

async function code(request: Promise<unknown>): Promise<string> {
  const error = await request.then(
    () => undefined,
    (e: unknown) => e,
  );
  return DhtError.is(error) ? `${error.code} ${error.status}` : 'accepted';
}

beforeAll(async () => {
  const grown = await growOverlay(
    3,
    async () => ({ node: await peer() }),
    1,
    (m) => nodes.push(m.node),
  );
  await settle(grown.map((m) => m.node));
  services = nodes.map((storage) => new LocationService({ storage, adminPublicKey: admin.publicKey }));
  const credential = createCredential({ aor: AOR, realm: 'example.org', password: 'secret', serial: 2 });
  await services[0]!.putCredential(signCredential(credential, admin.privateKey));
});
afterAll(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});

describe('REGISTER-BIND and AUTHORIZE over real UDP', () => {
  it('binds after a good digest in one routed request, refuses a wrong one and an unknown user', async () => {
    for (const [i, service] of services.entries()) {
      const node = nodes[i]!;
      const instance = `urn:uuid:${i}`;
      expect(await service.registerBind(AOR, answer('secret'), bindingOf(node, instance), 600)).toEqual({
        verdict: 'ok',
        expires: 600,
      });
      expect(await service.registerBind(AOR, answer('guess'), bindingOf(node, 'urn:uuid:x'), 600)).toEqual({
        verdict: 'wrong-response',
      });
      expect(
        await service.registerBind('sip:zed@example.org', answer('secret'), bindingOf(node), 600),
      ).toEqual({ verdict: 'unknown-user' });
    }
    const found = await services[1]!.lookup(AOR);
    expect(found.map((b) => b.instanceId).sort()).toEqual(['urn:uuid:0', 'urn:uuid:1', 'urn:uuid:2']);
    // Each binding's flow peer is the peer that sent it.
    for (const b of found) expect(toHex(b.flowPeer)).toBe(nodes[Number(b.instanceId.slice(-1))]!.id);
    await settle(nodes, 'the binding replicas');
    const holders = nodes.filter((n) => n.store.get(AOR, RecordKind.BINDING).length === 3);
    expect(holders.length).toBeGreaterThanOrEqual(2);

    expect(
      await services[2]!.registerBind(
        AOR,
        answer('secret'),
        { remove: bindingOf(nodes[2]!, 'urn:uuid:2') },
        0,
      ),
    ).toEqual({ verdict: 'ok' });
    expect((await services[0]!.lookup(AOR)).map((b) => b.instanceId).sort()).toEqual([
      'urn:uuid:0',
      'urn:uuid:1',
    ]);
    expect(await services[0]!.registerBind(AOR, answer('nope'), { remove: '*' }, 0)).toEqual({
      verdict: 'wrong-response',
    });
    expect(await services[0]!.lookup(AOR)).toHaveLength(2);
    expect(await services[0]!.registerBind(AOR, answer('secret'), { remove: '*' }, 0)).toEqual({
      verdict: 'ok',
    });
    expect(await services[0]!.lookup(AOR)).toEqual([]);
  });

  it('answers AUTHORIZE yes or no, and a GET of the CREDENTIAL without its secret', async () => {
    const invite = { method: 'INVITE' };
    expect(await services[1]!.authorize(AOR, answer('secret'))).toBe('ok');
    expect(await services[2]!.authorize(AOR, answer('secret', invite))).toBe('wrong-response');
    expect(await services[2]!.authorize(AOR, answer('wrong'))).toBe('wrong-response');
    expect(await services[0]!.authorize('sip:nobody@example.org', answer('secret'))).toBe('unknown-user');

    const ha1 = computeHa1('SHA-256', 'alice', 'example.org', 'secret');
    for (const node of nodes) {
      const [record] = await node.get(AOR, RecordKind.CREDENTIAL);
      expect(Buffer.from(record!.value).includes(Buffer.from(ha1))).toBe(false);
      expect(decodeCredentialRecord(record!.value)).toMatchObject({ type: 'public', view: { serial: 2 } });
    }
    expect(await services[2]!.credential(AOR)).toMatchObject({ username: 'alice', serial: 2 });
  });

  it('refuses a binding for another peer’s flow, and REMOVE of a credential', async () => {
    expect(await code(services[0]!.registerBind(AOR, answer('secret'), bindingOf(nodes[1]!), 600))).toBe(
      'REMOTE_ERROR 403',
    );
    expect(
      await code(nodes[0]!.put(AOR, RecordKind.BINDING, bindingCodec.encode(bindingOf(nodes[2]!)), 600)),
    ).toMatch(/403$/);
    expect(await code(nodes[1]!.remove(AOR, RecordKind.CREDENTIAL))).toMatch(/403$/);
    expect(await services[0]!.authorize(AOR, answer('secret'))).toBe('ok');
  });

  it('removes a user by tombstone and never takes the older credential back', async () => {
    await services[1]!.removeCredential(signCredentialRemoval(AOR, 3, admin.privateKey));
    expect(await services[2]!.authorize(AOR, answer('secret'))).toBe('unknown-user');
    // A fresh reader (the others cache what they read for 30 s).
    const reader = new LocationService({ storage: nodes[0]!, adminPublicKey: admin.publicKey });
    expect(await reader.credential(AOR)).toBeUndefined();
    const old = createCredential({ aor: AOR, realm: 'example.org', password: 'secret', serial: 2 });
    expect(
      await code(
        nodes[2]!.put(AOR, RecordKind.CREDENTIAL, encodeCredential(signCredential(old, admin.privateKey)), 1),
      ),
    ).toMatch(/409$/);
  });
  it('refuses a request whose ORIGIN signature does not hold', async () => {
    const rogue = await peer({ signWith: generateKeyPairSync('ed25519').privateKey });
    try {
      await nodes[0]!.invite(rogue.ua.contactUri);
      await settle([...nodes, rogue]);
      const service = new LocationService({ storage: rogue, adminPublicKey: admin.publicKey });
      // Wherever the owner is, the forged origin is refused there (here too, should the rogue own the AOR).
      expect(await code(service.registerBind(AOR, answer('secret'), bindingOf(rogue), 600))).toMatch(/403$/);
      expect(await services[0]!.lookup(AOR)).toEqual([]);
    } finally {
      await rogue.close();
    }
  });
});
