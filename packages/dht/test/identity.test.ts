import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normaliseAor as canNormaliseAor } from '@xpp/can';
import { WireError } from '@xpp/wire';
import {
  DhtError,
  aorUser,
  computeDigestResponse,
  computeHa1,
  createCredential,
  createCredentialVerifier,
  credentialSigningBytes,
  decodeCredential,
  encodeCredential,
  exportAdminPrivateKey,
  exportAdminPublicKey,
  generateAdminKeyPair,
  importAdminPrivateKey,
  importAdminPublicKey,
  normaliseAor,
  signCredential,
  verifyCredential,
  verifyDigest,
  type DigestResponseFields,
} from '@xpp/dht';

function code(run: () => unknown): string {
  try {
    run();
    return 'accepted';
  } catch (error) {
    if (DhtError.is(error) || WireError.is(error)) return error.code;
    throw error;
  }
}

// RFC 7616 §3.9.1: username Mufasa, password "Circle of Life", and the published responses.
const RFC7616 = {
  username: 'Mufasa',
  realm: 'http-auth@example.org',
  password: 'Circle of Life',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  uri: '/dir/index.html',
  method: 'GET',
  qop: 'auth',
  nc: '00000001',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  md5: '8ca523f5e9506fed4657c9700eebdbec',
  sha256: '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
};

const mufasa = createCredential({
  aor: 'sip:Mufasa@example.org',
  username: RFC7616.username,
  realm: RFC7616.realm,
  password: RFC7616.password,
});

function fields(algorithm: string | undefined, response: string): DigestResponseFields {
  const { username, realm, nonce, uri, method, qop, nc, cnonce } = RFC7616;
  return {
    username,
    realm,
    nonce,
    uri,
    method,
    qop,
    nc,
    cnonce,
    response,
    ...(algorithm === undefined ? {} : { algorithm }),
  };
}

describe('digest (RFC 7616)', () => {
  it('computes the published example responses for SHA-256 and MD5', () => {
    const ha1 = computeHa1('SHA-256', RFC7616.username, RFC7616.realm, RFC7616.password);
    expect(computeDigestResponse('SHA-256', ha1, fields('SHA-256', ''))).toBe(RFC7616.sha256);
    const md5 = computeHa1('MD5', RFC7616.username, RFC7616.realm, RFC7616.password);
    expect(computeDigestResponse('MD5', md5, fields('MD5', ''))).toBe(RFC7616.md5);
  });

  it('verifies the published responses against a credential and refuses anything else', () => {
    expect(verifyDigest(mufasa, fields('SHA-256', RFC7616.sha256))).toBe(true);
    expect(verifyDigest(mufasa, fields('sha-256', RFC7616.sha256.toUpperCase()))).toBe(true);
    expect(verifyDigest(mufasa, fields(undefined, RFC7616.md5))).toBe(true);
    expect(verifyDigest(mufasa, fields('MD5', RFC7616.md5))).toBe(true);
    expect(verifyDigest(mufasa, fields('SHA-256', RFC7616.md5))).toBe(false);
    expect(verifyDigest(mufasa, fields('SHA-256', RFC7616.sha256.replace(/.$/, '0')))).toBe(false);
    expect(verifyDigest(mufasa, fields('SHA-256', ''))).toBe(false);
    expect(verifyDigest(mufasa, { ...fields('SHA-256', RFC7616.sha256), username: 'Scar' })).toBe(false);
    expect(verifyDigest(mufasa, { ...fields('SHA-256', RFC7616.sha256), realm: 'other' })).toBe(false);
    expect(verifyDigest(mufasa, { ...fields('SHA-256', RFC7616.sha256), nonce: 'other' })).toBe(false);
  });

  it('refuses unsupported algorithms, qop and missing fields with UNSUPPORTED_DIGEST', () => {
    expect(code(() => verifyDigest(mufasa, fields('SHA-256-sess', RFC7616.sha256)))).toBe(
      'UNSUPPORTED_DIGEST',
    );
    expect(code(() => verifyDigest(mufasa, { ...fields('SHA-256', RFC7616.sha256), qop: 'auth-int' }))).toBe(
      'UNSUPPORTED_DIGEST',
    );
    const { nc: _nc, ...noNc } = fields('SHA-256', RFC7616.sha256);
    expect(code(() => verifyDigest(mufasa, noNc))).toBe('UNSUPPORTED_DIGEST');
    const sha256Only = createCredential({ aor: 'sip:a@b', realm: 'r', password: 'p', md5: false });
    expect(code(() => verifyDigest(sha256Only, fields('MD5', RFC7616.md5)))).toBe('UNSUPPORTED_DIGEST');
    expect(
      DhtError.is(new DhtError('UNSUPPORTED_DIGEST', 'x')) && new DhtError('UNSUPPORTED_DIGEST', 'x').status,
    ).toBe(400);
  });
});

describe('credentials signed by the administrator (Ed25519)', () => {
  const admin = generateAdminKeyPair();
  const signed = signCredential(mufasa, admin.privateKey);

  it('round-trip through their record value and verify', () => {
    const value = encodeCredential(signed);
    expect(decodeCredential(value)).toEqual(signed);
    expect(verifyCredential(value, admin.publicKey)).toEqual(signed);
    expect(createCredentialVerifier(admin.publicKey)('sip:Mufasa@example.org', value)).toEqual(signed);
  });

  it('refuse forged signatures, any changed field, and another administrator', () => {
    const value = encodeCredential(signed);
    for (let i = 0; i < value.length; i += 7) {
      const changed = value.slice();
      changed[i]! ^= 0x01;
      expect(['BAD_SIGNATURE', 'INVALID_VALUE']).toContain(
        code(() => verifyCredential(changed, admin.publicKey)),
      );
    }
    const otherAdmin = generateAdminKeyPair();
    expect(code(() => verifyCredential(value, otherAdmin.publicKey))).toBe('BAD_SIGNATURE');
    const forged = signCredential({ ...mufasa, ha1Sha256: new Uint8Array(32) }, otherAdmin.privateKey);
    expect(code(() => verifyCredential(encodeCredential(forged), admin.publicKey))).toBe('BAD_SIGNATURE');
    expect(code(() => verifyCredential({ ...signed, serial: 2 }, admin.publicKey))).toBe('BAD_SIGNATURE');
    expect(code(() => createCredentialVerifier(admin.publicKey)('sip:scar@example.org', value))).toBe(
      'CREDENTIAL_REFUSED',
    );
  });

  it('sign a canonical encoding with a context string', () => {
    const bytes = credentialSigningBytes(mufasa);
    expect(Buffer.from(bytes.subarray(0, 23)).toString()).toBe('XPP-PCAN credential v1\0');
    expect(credentialSigningBytes({ ...mufasa })).toEqual(bytes);
    expect(encodeCredential(signed).subarray(0, bytes.length - 23)).toEqual(bytes.subarray(23));
  });

  it('decode random octets to a credential or a WireError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (input) => {
        try {
          decodeCredential(input);
        } catch (error) {
          expect(WireError.is(error)).toBe(true);
        }
        expect(['BAD_SIGNATURE', 'INVALID_VALUE']).toContain(
          code(() => verifyCredential(input, admin.publicKey)),
        );
      }),
    );
  });

  it('import an RFC 8032 seed and sign its published test vector', async () => {
    const { sign, createPublicKey } = await import('node:crypto');
    const key = importAdminPrivateKey(
      Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex'),
    );
    expect(Buffer.from(exportAdminPublicKey(createPublicKey(key))).toString('hex')).toBe(
      'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    );
    expect(sign(null, Buffer.alloc(0), key).toString('hex')).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    expect(code(() => importAdminPrivateKey(new Uint8Array(31)))).toBe('INVALID_ADMIN_KEY');
  });

  it('export and import administrator keys (raw, PEM) and refuse other keys', () => {
    const raw = exportAdminPublicKey(admin.publicKey);
    expect(raw).toHaveLength(32);
    const back = importAdminPublicKey(raw);
    expect(verifyCredential(encodeCredential(signed), back)).toEqual(signed);
    const pem = admin.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(exportAdminPublicKey(importAdminPublicKey(pem))).toEqual(raw);
    const privatePem = exportAdminPrivateKey(admin.privateKey);
    const again = signCredential(mufasa, importAdminPrivateKey(privatePem));
    expect(again.signature).toEqual(signed.signature); // Ed25519 is deterministic
    expect(code(() => importAdminPublicKey(new Uint8Array(31)))).toBe('INVALID_ADMIN_KEY');
    expect(code(() => importAdminPublicKey('not a key'))).toBe('INVALID_ADMIN_KEY');
    expect(code(() => importAdminPrivateKey(pem))).toBe('INVALID_ADMIN_KEY');
    expect(code(() => exportAdminPublicKey(admin.privateKey))).toBe('INVALID_ADMIN_KEY');
  });
});

describe('address-of-record normalisation', () => {
  it.each([
    ['sip:alice@example.org', 'sip:alice@example.org'],
    ['SIP:Alice@EXAMPLE.org', 'sip:Alice@example.org'],
    ['sips:alice@Example.org:5061;transport=tls', 'sips:alice@example.org:5061'],
    ['"Alice" <sip:alice@Example.ORG:5060;transport=udp>;tag=1', 'sip:alice@example.org:5060'],
    ['<SIP:bob@example.org>', 'sip:bob@example.org'],
    ['  sip:alice@example.org  ', 'sip:alice@example.org'],
    ['sip:bob%20x@example.org?subject=hi', 'sip:bob%20x@example.org'],
  ])('%s → %s (as @xpp/can normalises it)', (input, expected) => {
    expect(normaliseAor(input)).toBe(expected);
    expect(normaliseAor(expected)).toBe(expected);
  });

  it.each([
    'alice@example.org',
    'tel:+123',
    'sip:example.org',
    'sip:@example.org',
    'sip:a b@x',
    'sip:a@',
    '<sip:a@b',
    'sip:a@b:99999',
    'sip:bob@[2001:db8::1]',
    `sip:${'a'.repeat(1100)}@x`,
  ])('refuses %s with INVALID_AOR', (input) => {
    expect(code(() => normaliseAor(input))).toBe('INVALID_AOR');
  });

  it('gives the key @xpp/can gives for every bare URI', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 60 }),
          fc.webUrl().map((u) => u.replace(/^https?:\/\//, 'sip:a@')),
        ),
        (input) => {
          let expected: string | undefined;
          try {
            expected = canNormaliseAor(input);
          } catch {
            expected = undefined;
          }
          if (expected !== undefined && /^\s*sips?:/i.test(input)) expect(normaliseAor(input)).toBe(expected);
        },
      ),
    );
  });

  it('never throws anything but INVALID_AOR, and is idempotent', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (input) => {
        const result = code(() => normaliseAor(input));
        expect(['accepted', 'INVALID_AOR']).toContain(result);
        if (result === 'accepted') expect(normaliseAor(normaliseAor(input))).toBe(normaliseAor(input));
      }),
    );
  });

  it('names the default digest username', () => {
    expect(aorUser('sips:Alice@Example.org:5061')).toBe('Alice');
    expect(createCredential({ aor: 'SIP:Alice@Example.org', realm: 'r', password: 'p' })).toMatchObject({
      aor: 'sip:Alice@example.org',
      username: 'Alice',
      serial: 1,
    });
  });
});
