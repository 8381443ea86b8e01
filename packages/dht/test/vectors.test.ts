import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeMessage, defaultRegistry, encodeMessage, fromHex, toHex } from '@xpp/wire';
import { createPublicKey } from 'node:crypto';
import { pointCodec as canPointCodec, zoneCodec as canZoneCodec } from '@xpp/can';
import {
  DhtOption,
  bindingCodec,
  decodeCredential,
  exportAdminPublicKey,
  importAdminPrivateKey,
  importAdminPublicKey,
  peerRecordCodec,
  verifyCredential,
  verifyDigest,
} from '@xpp/dht';
import {
  RFC8032_PUBLIC,
  RFC8032_SEED,
  messageCases,
  optionCases,
  valueCases,
} from './support/vector-cases.js';

interface Vectors {
  options: { name: string; type: number; hex: string }[];
  values: { name: string; hex: string }[];
  messages: { name: string; hex: string }[];
}

const vectors = JSON.parse(readFileSync(new URL('./vectors.json', import.meta.url), 'utf8')) as Vectors;

describe('golden vectors', () => {
  it('cover every option case and message case', () => {
    expect(vectors.options.map((v) => v.name)).toEqual(optionCases.map((c) => c.name));
    expect(vectors.messages.map((v) => v.name)).toEqual(messageCases.map((c) => c.name));
    expect(vectors.values.map((v) => v.name)).toEqual(valueCases.map((c) => c.name));
  });

  it.each(valueCases.map((c, i) => [c.name, c, vectors.values[i]!] as const))(
    'record value %s is stable',
    (_name, c, vector) => {
      expect(toHex(c.value())).toBe(vector.hex);
    },
  );

  it('record values decode to what they say', () => {
    const [binding, peer, credential] = vectors.values.map((v) => fromHex(v.hex));
    expect(bindingCodec.decode(binding!).regId).toBe(1);
    expect(peerRecordCodec.decode(peer!).contact.candidates).toHaveLength(2);
    // The RFC 8032 test key signs the credential, and the credential answers RFC 7616's example response.
    const admin = importAdminPrivateKey(RFC8032_SEED);
    expect(exportAdminPublicKey(createPublicKey(admin))).toEqual(RFC8032_PUBLIC);
    const verified = verifyCredential(credential!, importAdminPublicKey(RFC8032_PUBLIC));
    expect(verified).toEqual(decodeCredential(credential!));
    expect(
      verifyDigest(verified, {
        username: 'Mufasa',
        realm: 'http-auth@example.org',
        nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
        uri: '/dir/index.html',
        method: 'GET',
        algorithm: 'SHA-256',
        qop: 'auth',
        nc: '00000001',
        cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
        response: '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
      }),
    ).toBe(true);
  });

  it.each(optionCases.map((c, i) => [c.name, c, vectors.options[i]!] as const))(
    'option %s encodes to and decodes from its octets',
    (_name, c, vector) => {
      expect(c.option.type).toBe(vector.type);
      expect(defaultRegistry.option(vector.type)?.name).toBe(c.name);
      expect(toHex(c.option.codec.encode(c.value as never))).toBe(vector.hex);
      expect(c.option.codec.decode(fromHex(vector.hex))).toEqual(c.value);
    },
  );

  it.each(messageCases.map((c, i) => [c.name, c, vectors.messages[i]!] as const))(
    'message %s encodes to and decodes from its octets',
    (_name, c, vector) => {
      const message = decodeMessage(fromHex(vector.hex));
      expect(message.type).toBe(c.type);
      expect(message.response).toBe(c.response);
      expect(defaultRegistry.unknownMandatory(message.options)).toEqual([]);
      expect(c.decode(message.options)).toEqual(c.body);
      const again = encodeMessage({ ...message, options: c.encode(c.body as never) });
      expect(toHex(again)).toBe(vector.hex);
    },
  );

  it('carries points and zones that @xpp/can decodes (d = 2 in the vectors)', () => {
    let zones = 0;
    for (const vector of vectors.messages) {
      const options = decodeMessage(fromHex(vector.hex)).options;
      for (const zone of DhtOption.ZONE.findAll(options)) {
        expect(canZoneCodec(2).decode(zone)).toBeDefined();
        zones++;
      }
      for (const n of DhtOption.NEIGHBOUR.findAll(options))
        for (const zone of n.zones) canZoneCodec(2).decode(zone);
      const target = DhtOption.TARGET.find(options);
      if (target !== undefined) expect(canPointCodec(2).decode(target)).toEqual([0x40000000, 0xc0000000]);
    }
    expect(zones).toBeGreaterThan(0);
  });

  it('pins the PUT layout octet by octet (docs/decisions/dht-operation-codes.md)', () => {
    const put = vectors.messages.find((v) => v.name === 'PUT')!.hex;
    expect(put).toBe(
      [
        '00000101', // operation number 0x101
        '0101', // request, PUT
        '0000', // reserved
        '0000002c', // 44 octets of options
        '8103' + '0015' + Buffer.from('sip:alice@example.org').toString('hex'), // KEY, mandatory
        '8104' + '0001' + '01', // KIND = BINDING
        '8106' + '0004' + '00000e10', // LIFETIME = 3600 s
        '8105' + '0002' + '0102', // VALUE
      ].join(''),
    );
  });
});
