import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  computeDigestResponse,
  computeHa1,
  createCredential,
  createCredentialVerifier,
  DhtError,
  encodeCredential,
  generateAdminKeyPair,
  LocationService,
  OverlayNode,
  RecordKind,
  signCredential,
  type Binding,
  type DigestResponseFields,
} from '@xpp/dht';

const admin = generateAdminKeyPair();
const nodes: OverlayNode[] = [];
let services: LocationService[] = [];

/** Three peers over real UDP on loopback; a location service on each. */
beforeAll(async () => {
  for (let i = 0; i < 3; i++) {
    const node = await OverlayNode.create({
      dimensions: 2,
      store: { verifyCredential: createCredentialVerifier(admin.publicKey) },
    });
    nodes.push(node);
    if (i === 0) node.bootstrap();
    else await nodes[0]!.invite(node.ua.contactUri);
  }
  services = nodes.map((storage) => new LocationService({ storage, adminPublicKey: admin.publicKey }));
});
afterAll(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});

const flowPeer = Uint8Array.of(1, 2, 3, 4);
const binding = (contact: string, instanceId = '', regId = 0): Binding => ({
  instanceId,
  regId,
  contact,
  flowPeer,
});

function answer(
  password: string,
  algorithm: 'SHA-256' | 'MD5',
  overrides: Partial<DigestResponseFields> = {},
): DigestResponseFields {
  const base = {
    username: 'alice',
    realm: 'example.org',
    nonce: 'n0nce',
    uri: 'sip:example.org',
    method: 'REGISTER',
    algorithm,
    qop: 'auth',
    nc: '00000001',
    cnonce: 'c0ffee',
  };
  const ha1 = computeHa1(algorithm, base.username, base.realm, password);
  return { ...base, response: computeDigestResponse(algorithm, ha1, base), ...overrides };
}

describe('LocationService over an overlay on real UDP', () => {
  it('registers bindings at one peer and finds them from every other, one value per instance / reg-id', async () => {
    const [a, b, c] = services as [LocationService, LocationService, LocationService];
    expect(
      await a.register('sip:bob@Example.org', binding('sip:bob@192.0.2.1:5060', 'urn:uuid:1', 1), 600),
    ).toBe(600);
    await a.register('sip:bob@example.org', binding('sip:bob@192.0.2.2:5060', 'urn:uuid:2', 1), 300);
    // The same instance and reg-id replaces the binding (a new contact after a NAT rebinding).
    await b.register('sip:bob@example.org', binding('sip:bob@192.0.2.9:5060', 'urn:uuid:1', 1), 600);
    const found = await c.lookup('sip:bob@example.org');
    expect(found.map((f) => f.contact).sort()).toEqual(['sip:bob@192.0.2.2:5060', 'sip:bob@192.0.2.9:5060']);
    expect(found.every((f) => f.expires > 1 && f.expires <= 600)).toBe(true);
    expect([...found[0]!.flowPeer]).toEqual([...flowPeer]);
    expect(await b.lookup('sip:nobody@example.org')).toEqual([]);
  });

  it('unregisters one binding, then all of them', async () => {
    const [a, b] = services as [LocationService, LocationService];
    await a.register('sip:carol@example.org', binding('sip:carol@192.0.2.3:5060'), 600);
    await a.register('sip:carol@example.org', binding('sip:carol@192.0.2.4:5060'), 600);
    await b.unregister('sip:carol@example.org', binding('sip:carol@192.0.2.3:5060'));
    expect((await a.lookup('sip:carol@example.org')).map((f) => f.contact)).toEqual([
      'sip:carol@192.0.2.4:5060',
    ]);
    // Removed at the owner (REMOVE with the binding id), not rewritten: one record is left.
    const raw = await nodes[0]!.get('sip:carol@example.org', RecordKind.BINDING);
    expect(raw).toHaveLength(1);
    await b.unregister('sip:carol@example.org');
    expect(await a.lookup('sip:carol@example.org')).toEqual([]);
  });

  it('stores signed credentials, verifies digests against them (SHA-256 and MD5), refuses forgeries', async () => {
    const [a, b, c] = services as [LocationService, LocationService, LocationService];
    const credential = signCredential(
      createCredential({ aor: 'sip:alice@example.org', realm: 'example.org', password: 'secret' }),
      admin.privateKey,
    );
    await a.putCredential(credential);
    expect((await b.credential('sip:alice@example.org'))?.username).toBe('alice');
    expect(await c.verifyDigest('sip:alice@example.org', answer('secret', 'SHA-256'))).toBe('ok');
    expect(await c.verifyDigest('sip:alice@example.org', answer('secret', 'MD5'))).toBe('ok');
    expect(await c.verifyDigest('sip:alice@example.org', answer('wrong', 'SHA-256'))).toBe('wrong-response');
    expect(
      await c.verifyDigest('sip:alice@example.org', answer('secret', 'MD5', { username: 'mallory' })),
    ).toBe('wrong-response');
    expect(await c.verifyDigest('sip:zed@example.org', answer('secret', 'MD5'))).toBe('unknown-user');
    await expect(
      c.verifyDigest('sip:alice@example.org', answer('secret', 'MD5', { algorithm: 'MD5-sess' })),
    ).rejects.toSatisfy((e) => DhtError.is(e, 'UNSUPPORTED_DIGEST'));

    const forger = generateAdminKeyPair();
    const forged = signCredential(
      createCredential({ aor: 'sip:eve@example.org', realm: 'example.org', password: 'x' }),
      forger.privateKey,
    );
    await expect(a.putCredential(forged)).rejects.toSatisfy((e) => DhtError.is(e, 'BAD_SIGNATURE'));
    // A peer configured with another administrator key stores it; ours never believes it.
    const liar = new LocationService({
      storage: {
        put: () => Promise.resolve(1),
        get: () =>
          Promise.resolve([
            {
              kind: RecordKind.CREDENTIAL,
              key: 'sip:eve@example.org',
              value: encodeCredential(forged),
              lifetime: 60,
            },
          ]),
        remove: () => Promise.resolve(),
      },
      adminPublicKey: admin.publicKey,
    });
    await expect(liar.credential('sip:eve@example.org')).rejects.toSatisfy((e) =>
      DhtError.is(e, 'BAD_SIGNATURE'),
    );
  });

  it('re-reads a credential after its cache time; unchanged octets are not re-verified, changed ones are', async () => {
    let now = 0;
    const signed = (password: string, key = admin.privateKey) =>
      encodeCredential(
        signCredential(
          createCredential({ aor: 'sip:dora@example.org', realm: 'example.org', password }),
          key,
        ),
      );
    let stored = signed('first');
    let gets = 0;
    const service = new LocationService({
      storage: {
        put: () => Promise.resolve(1),
        get: () => {
          gets++;
          return Promise.resolve([
            { kind: RecordKind.CREDENTIAL, key: 'sip:dora@example.org', value: stored, lifetime: 60 },
          ]);
        },
        remove: () => Promise.resolve(),
      },
      adminPublicKey: admin.publicKey,
      clock: { now: () => now },
      credentialCacheMs: 1_000,
    });
    const first = await service.credential('sip:dora@example.org');
    expect(await service.credential('sip:dora@example.org')).toBe(first);
    expect(gets).toBe(1);
    now = 1_000;
    // Read again (a password change must arrive), the same octets: the credential verified before is reused.
    expect(await service.credential('sip:dora@example.org')).toBe(first);
    expect(gets).toBe(2);
    now = 2_000;
    stored = signed('second');
    const second = await service.credential('sip:dora@example.org');
    expect(second).not.toBe(first);
    now = 3_000;
    stored = signed('forged', generateAdminKeyPair().privateKey);
    await expect(service.credential('sip:dora@example.org')).rejects.toSatisfy((e) =>
      DhtError.is(e, 'BAD_SIGNATURE'),
    );
  });

  it('publishes and reads PEER records (where a flow peer is reached)', async () => {
    const [a, c] = [services[0]!, services[2]!];
    const node = nodes[0]!;
    await a.announcePeer(node.id, { peerId: node.peerId, contact: node.contact }, 600);
    expect((await c.peer(node.id))?.contact.uri).toBe(node.ua.contactUri);
    expect(await c.peer('00ff')).toBeUndefined();
  });
});
