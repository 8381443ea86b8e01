import { createSocket, type Socket } from 'node:dgram';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  SessionError,
  StunAttribute,
  StunType,
  decodeStunMessage,
  encodeMappedAddress,
  encodeStunMessage,
  isStunMessage,
  readMappedAddress,
  stunBinding,
} from '@xpp/session-sdp';
import { StunBindingTransaction } from '../src/stun/binding.js';
import { FakeClock } from '@xpp/fragment/testing';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

// RFC 5769 §2.2: sample IPv4 response (XOR-MAPPED-ADDRESS 192.0.2.1:32853, MESSAGE-INTEGRITY, FINGERPRINT).
const rfc5769Response = hex(`
  0101 003c 2112 a442 b7e7 a701 bc34 d686 fa87 dfae
  8022 000b 7465 7374 2076 6563 746f 7220
  0020 0008 0001 a147 e112 a643
  0008 0014 2b91 f599 fd9e 90c3 8c74 89f9 2af9 ba53 f06b e7d7
  8028 0004 c07d 4c96`);

describe('STUN codec', () => {
  it('reads the RFC 5769 sample response and checks its FINGERPRINT', () => {
    const message = decodeStunMessage(rfc5769Response);
    expect(message.type).toBe(StunType.BINDING_SUCCESS);
    expect(readMappedAddress(message)).toEqual({ address: '192.0.2.1', port: 32853 });
    const corrupted = Uint8Array.from(rfc5769Response);
    corrupted[30] = corrupted[30]! ^ 1;
    expect(() => decodeStunMessage(corrupted)).toThrow(expect.objectContaining({ code: 'BAD_STUN' }));
  });

  it('round-trips XOR-MAPPED-ADDRESS for IPv4 and IPv6 with a fingerprint', () => {
    for (const address of ['203.0.113.7', '2001:db8::1', '::ffff:192.0.2.1']) {
      const transactionId = new Uint8Array(12).fill(9);
      const bytes = encodeStunMessage(
        {
          type: StunType.BINDING_SUCCESS,
          transactionId,
          attributes: [encodeMappedAddress({ address, port: 40000 }, transactionId)],
        },
        { fingerprint: true },
      );
      expect(readMappedAddress(decodeStunMessage(bytes))).toEqual({
        address: address === '::ffff:192.0.2.1' ? '::ffff:c000:201' : address,
        port: 40000,
      });
    }
  });

  it('tells STUN from XPP fragments by the first octet', () => {
    expect(isStunMessage(rfc5769Response)).toBe(true);
    expect(isStunMessage(hex('10141234aaaabbbb' + '00'.repeat(20)))).toBe(false);
  });

  it('throws nothing but SessionError on random and mutated input', () => {
    const mutated = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, v]) => {
      const copy = Uint8Array.from(rfc5769Response);
      copy[at % copy.length] = v;
      return copy;
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated), (bytes) => {
        try {
          readMappedAddress(decodeStunMessage(bytes));
        } catch (error) {
          expect(SessionError.is(error)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('STUN binding transaction', () => {
  it('retransmits at 0, 500, 1500 … 31500 ms and fails at 39.5 s (RFC 8489 §6.2.1)', async () => {
    const clock = new FakeClock();
    const sent: number[] = [];
    const transaction = new StunBindingTransaction(
      { address: '192.0.2.9', port: 3478 },
      () => sent.push(clock.now()),
      { clock },
    );
    const result = transaction.start();
    clock.advance(39_499);
    expect(sent).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    clock.advance(1);
    await expect(result).rejects.toMatchObject({ code: 'STUN_TIMEOUT' });
    expect(clock.pending).toBe(0);
  });

  it('ignores responses from elsewhere or for other transactions, reports error responses', async () => {
    const clock = new FakeClock();
    const server = { address: '192.0.2.9', port: 3478 };
    const transaction = new StunBindingTransaction(server, () => undefined, { clock });
    const result = transaction.start();
    const response = (
      id: Uint8Array,
      type: number,
      attributes = [encodeMappedAddress({ address: '198.51.100.1', port: 1 }, id)],
    ) => encodeStunMessage({ type, transactionId: id, attributes });
    expect(
      transaction.receive(response(transaction.transactionId, StunType.BINDING_SUCCESS), {
        address: '192.0.2.10',
        port: 3478,
      }),
    ).toBe(false);
    expect(transaction.receive(response(new Uint8Array(12), StunType.BINDING_SUCCESS), server)).toBe(false);
    const error = { type: StunAttribute.ERROR_CODE, value: Uint8Array.of(0, 0, 4, 20, 0x55) };
    expect(
      transaction.receive(response(transaction.transactionId, StunType.BINDING_ERROR, [error]), server),
    ).toBe(true);
    await expect(result).rejects.toMatchObject({ code: 'BAD_STUN', status: 420 });
  });

  describe('over loopback against a tiny STUN responder', () => {
    const sockets: Socket[] = [];
    afterEach(() => sockets.splice(0).forEach((s) => s.close()));

    async function bound(): Promise<Socket> {
      const socket = createSocket('udp4');
      sockets.push(socket);
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
      return socket;
    }

    it('learns the address and port the responder saw, ignoring the first lost request', async () => {
      // The responder is written from RFC 8489 directly (not with our encoder): it drops the first request to
      // exercise the retransmission, then answers 0x0101 with XOR-MAPPED-ADDRESS of the sender.
      const responder = await bound();
      let requests = 0;
      responder.on('message', (request, from) => {
        if (++requests === 1) return;
        const reply = Buffer.alloc(32);
        reply.writeUInt16BE(0x0101, 0);
        reply.writeUInt16BE(12, 2);
        request.copy(reply, 4, 4, 20);
        reply.writeUInt16BE(0x0020, 20);
        reply.writeUInt16BE(8, 22);
        reply.writeUInt16BE(0x0001, 24);
        reply.writeUInt16BE(from.port ^ 0x2112, 26);
        const ip = from.address.split('.').map(Number);
        reply.writeUInt32BE(
          (((ip[0]! << 24) | (ip[1]! << 16) | (ip[2]! << 8) | ip[3]!) ^ 0x2112a442) >>> 0,
          28,
        );
        responder.send(reply, from.port, from.address);
      });
      const client = await bound();
      const mapped = await stunBinding(
        client,
        { address: '127.0.0.1', port: responder.address().port },
        { rtoMs: 50 },
      );
      expect(mapped).toEqual({ address: '127.0.0.1', port: client.address().port });
      expect(requests).toBe(2);
      expect(client.listenerCount('message')).toBe(0);
    });

    it('aborts with ABORTED', async () => {
      const client = await bound();
      const silent = await bound();
      const controller = new AbortController();
      const pending = stunBinding(
        client,
        { address: '127.0.0.1', port: silent.address().port },
        { signal: controller.signal },
      );
      controller.abort();
      await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
    });
  });
});
