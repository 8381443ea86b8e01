import { createCipheriv, createDecipheriv } from 'node:crypto';
import fc from 'fast-check';
import { Flag, encodeFragmentHeader } from '@xpp/wire';
import { describe, expect, it } from 'vitest';
import { SEAL_OVERHEAD, SessionCipher } from '@xpp/session-sdp';

// Spec §7's octets computed independently with node:crypto (the AEAD this package used before libsodium), so a
// change of AEAD library cannot change what goes on the wire.
const SEND_KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
const RECEIVE_KEY = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);

function datagramOf(seq: number, payload: Uint8Array): Uint8Array {
  const datagram = new Uint8Array(8 + payload.length);
  encodeFragmentHeader({ flags: Flag.REL | Flag.LFR, seq, localId: 0x1234, remoteId: 0x5678 }, datagram);
  datagram.set(payload, 8);
  return datagram;
}

function nonceOf(counter: number): Uint8Array {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setBigUint64(4, BigInt(counter));
  return nonce;
}

/** header ‖ counter ‖ ciphertext ‖ tag, by node:crypto. */
function referenceSeal(key: Uint8Array, counter: number, datagram: Uint8Array): Uint8Array {
  const header = datagram.subarray(0, 8);
  const plaintext = datagram.subarray(8);
  const cipher = createCipheriv('chacha20-poly1305', key, nonceOf(counter), { authTagLength: 16 });
  cipher.setAAD(header, { plaintextLength: plaintext.length });
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Uint8Array.from([...header, ...nonceOf(counter).subarray(4), ...body, ...cipher.getAuthTag()]);
}

function referenceOpen(key: Uint8Array, wire: Uint8Array): Uint8Array {
  const counter = Number(new DataView(wire.buffer, wire.byteOffset + 8, 8).getBigUint64(0));
  const decipher = createDecipheriv('chacha20-poly1305', key, nonceOf(counter), { authTagLength: 16 });
  const end = wire.length - 16;
  decipher.setAAD(wire.subarray(0, 8), { plaintextLength: end - 16 });
  decipher.setAuthTag(wire.subarray(end));
  return Uint8Array.from(Buffer.concat([decipher.update(wire.subarray(16, end)), decipher.final()]));
}

describe('SessionCipher on whole datagrams', () => {
  it('seals the same octets as node:crypto, and as seal() does, leaving the datagram unchanged', () => {
    const alice = new SessionCipher({ send: SEND_KEY, receive: RECEIVE_KEY });
    const twin = new SessionCipher({ send: SEND_KEY, receive: RECEIVE_KEY });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1400 }), fc.nat(0xffff), (payload, seq) => {
        const datagram = datagramOf(seq, payload);
        const copy = Uint8Array.from(datagram);
        const counter = alice.nextCounter;
        const out = new Uint8Array(datagram.length + SEAL_OVERHEAD);
        alice.sealDatagram(datagram, out);
        expect(out).toEqual(referenceSeal(SEND_KEY, counter, datagram));
        expect(datagram).toEqual(copy);
        expect(twin.seal(datagram.subarray(0, 8), datagram.subarray(8))).toEqual(out.subarray(8));
      }),
      { numRuns: 200 },
    );
  });

  it('opens node:crypto octets in place, and refuses forged or replayed ones without consuming the counter', () => {
    const bob = new SessionCipher({ send: RECEIVE_KEY, receive: SEND_KEY });
    const wire = referenceSeal(SEND_KEY, 5, datagramOf(9, Uint8Array.from([1, 2, 3, 4, 5])));
    const forged = Uint8Array.from(wire);
    forged[20]! ^= 1;
    expect(bob.openDatagram(forged)).toEqual({ ok: false, reason: 'AUTH_FAILED' });
    expect(bob.openDatagram(new Uint8Array(31))).toEqual({ ok: false, reason: 'TRUNCATED' });
    const opened = bob.openDatagram(Uint8Array.from(wire));
    expect(opened.ok && Array.from(opened.datagram)).toEqual(
      Array.from(datagramOf(9, Uint8Array.from([1, 2, 3, 4, 5]))),
    );
    expect(opened.ok && opened.counter).toBe(5);
    expect(bob.openDatagram(Uint8Array.from(wire))).toEqual({ ok: false, reason: 'REPLAYED' });
    expect(bob.stats).toMatchObject({ opened: 1, authFailed: 1, truncated: 1, replayed: 1 });
  });

  it('round-trips with node:crypto both ways', () => {
    const alice = new SessionCipher({ send: SEND_KEY, receive: RECEIVE_KEY });
    const datagram = datagramOf(1, new TextEncoder().encode('hello'));
    const out = new Uint8Array(datagram.length + SEAL_OVERHEAD);
    alice.sealDatagram(datagram, out);
    expect(referenceOpen(SEND_KEY, out)).toEqual(datagram.subarray(8));
  });

  it('refuses an output of the wrong size or a datagram without a header', () => {
    const alice = new SessionCipher({ send: SEND_KEY, receive: RECEIVE_KEY });
    const code = expect.objectContaining({ code: 'INVALID_ARGUMENT' });
    expect(() => alice.sealDatagram(datagramOf(1, new Uint8Array(4)), new Uint8Array(12))).toThrow(code);
    expect(() => alice.sealDatagram(new Uint8Array(7), new Uint8Array(31))).toThrow(code);
    expect(alice.nextCounter).toBe(0);
  });
});
