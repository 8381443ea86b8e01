import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { FakeClock } from '@xpp/fragment/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  StunResponder,
  StunType,
  XppEndpoint,
  decodeStunMessage,
  encodeStunMessage,
  newStunTransactionId,
  readMappedAddress,
  stunBinding,
} from '@xpp/session-sdp';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const request = () =>
  encodeStunMessage({
    type: StunType.BINDING_REQUEST,
    transactionId: newStunTransactionId(),
    attributes: [],
  });

describe('STUN responder', () => {
  it('answers a Binding request with the source as XOR-MAPPED-ADDRESS and the same transaction id', () => {
    const responder = new StunResponder({ clock: new FakeClock() });
    const asked = request();
    const answer = responder.answer(asked, { address: '203.0.113.6', port: 40123 });
    const message = decodeStunMessage(answer!);
    expect(message.type).toBe(StunType.BINDING_SUCCESS);
    expect(message.transactionId).toEqual(decodeStunMessage(asked).transactionId);
    expect(readMappedAddress(message)).toEqual({ address: '203.0.113.6', port: 40123 });
    // 20-octet header, XOR-MAPPED-ADDRESS (12), FINGERPRINT (8): no amplification worth having.
    expect(answer!.length).toBeLessThanOrEqual(asked.length + 20);
  });

  it('answers no response, error or garbage, and counts each', () => {
    const responder = new StunResponder({ clock: new FakeClock() });
    const from = { address: '192.0.2.9', port: 9 };
    const success = encodeStunMessage({
      type: StunType.BINDING_SUCCESS,
      transactionId: newStunTransactionId(),
      attributes: [],
    });
    expect(responder.answer(success, from)).toBeUndefined();
    const broken = request().slice(0, 19);
    expect(responder.answer(broken, from)).toBeUndefined();
    expect(responder.stats).toEqual({
      answered: 0,
      refused: { malformed: 1, 'not-a-request': 1, 'over-budget': 0 },
    });
  });

  it('never throws on arbitrary octets', () => {
    const responder = new StunResponder({ clock: new FakeClock(), answersPerSecond: 1e9 });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        responder.answer(bytes, { address: '192.0.2.1', port: 1 });
      }),
    );
  });

  it('bounds a flood by its token bucket, refilled with time', () => {
    const clock = new FakeClock();
    const responder = new StunResponder({ clock, answersPerSecond: 10 });
    const from = { address: '192.0.2.9', port: 9 };
    const answered = () =>
      Array.from({ length: 100 }, () => responder.answer(request(), from)).filter(Boolean);
    expect(answered().length).toBe(10);
    clock.advance(500);
    expect(answered().length).toBe(5);
    expect(responder.stats.refused['over-budget']).toBe(185);
  });
});

describe('XPP endpoint as a STUN server for its neighbours', () => {
  it('tells another endpoint where it appears from, which that one advertises as srflx', async () => {
    const server = await XppEndpoint.bind();
    // The asker advertises another host address, as a peer behind a NAT does (its private one).
    const asker = await XppEndpoint.bind({ hostAddresses: ['10.0.0.2'] });
    cleanup.push(
      () => server.close(),
      () => asker.close(),
    );
    const mapped = await asker.discoverReflexiveAddress(server.address);
    expect(mapped).toEqual(asker.address);
    expect(asker.reflexiveAddresses).toEqual([asker.address]);
    expect(asker.candidates.map((c) => `${c.type} ${c.address}:${c.port}`)).toEqual([
      `host 10.0.0.2:${asker.address.port}`,
      `srflx 127.0.0.1:${asker.address.port}`,
    ]);
    expect(asker.prepare().description.candidates.map((c) => c.type)).toEqual(['host', 'srflx']);
    expect(server.stats.stun.answered).toBe(1);
  });

  it('answers a plain UDP socket (any STUN client) too, and none when told to answer none', async () => {
    const open = await XppEndpoint.bind();
    const closed = await XppEndpoint.bind({ stunAnswersPerSecond: 0 });
    const socket = createSocket('udp4');
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    cleanup.push(
      () => open.close(),
      () => closed.close(),
      () => void socket.close(),
    );
    const mapped = await stunBinding(socket, open.address, { rtoMs: 50, maxRequests: 3 });
    expect(mapped.port).toBe(socket.address().port);
    await expect(
      stunBinding(socket, closed.address, { rtoMs: 20, maxRequests: 2, lastWaitFactor: 2 }),
    ).rejects.toMatchObject({ code: 'STUN_TIMEOUT' });
  });
});
