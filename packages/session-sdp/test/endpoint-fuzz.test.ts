import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import fc from 'fast-check';
import { encodeFragment, Operation, Option } from '@xpp/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XppEndpoint, type XppSession } from '@xpp/session-sdp';

// A live endpoint with an open secured session takes a stream of hostile datagrams: random bytes, and headers
// that name the session's real ltags with random flags, sequence numbers and payloads. It must not crash, must
// not make or lose sessions, and must keep serving the real peer.
describe('XppEndpoint under hostile datagrams', () => {
  let a: XppEndpoint;
  let b: XppEndpoint;
  let sa: XppSession;
  let sb: XppSession;
  const attacker = createSocket('udp4');

  beforeAll(async () => {
    a = await XppEndpoint.bind();
    b = await XppEndpoint.bind();
    const pa = a.prepare();
    const pb = b.prepare();
    [sa, sb] = await Promise.all([pa.open(pb.description), pb.open(pa.description)]);
    attacker.bind(0, '127.0.0.1');
    await once(attacker, 'listening');
  });
  afterAll(async () => {
    attacker.close();
    await a.close();
    await b.close();
  });

  it('drops and counts every one, and the session keeps working', async () => {
    const datagram = fc.oneof(
      fc.uint8Array({ maxLength: 1500 }),
      fc
        .record({
          flags: fc.integer({ min: 0, max: 0x1f }),
          seq: fc.integer({ min: 0, max: 0xffff }),
          payload: fc.uint8Array({ maxLength: 1300 }),
          ltags: fc.constantFrom('real', 'swapped', 'random'),
          random: fc.integer({ min: 0, max: 0xffff }),
        })
        .map(({ flags, seq, payload, ltags, random }) =>
          encodeFragment({
            flags,
            seq,
            payload,
            localId: ltags === 'real' ? sa.localLtag : ltags === 'swapped' ? sb.localLtag : random,
            remoteId: ltags === 'random' ? random : sb.localLtag,
          }),
        ),
    );
    const samples = fc.sample(datagram, { numRuns: 3000, seed: 42 });
    const before = b.stats.datagramsReceived;
    const channelBefore = sb.stats.channel.datagramsReceived;
    for (const d of samples) attacker.send(d, b.address.port, b.address.address);
    // Let the kernel deliver the burst (some may be dropped by the socket buffer; that is fine).
    await new Promise((r) => setTimeout(r, 300));
    expect(b.stats.datagramsReceived - before).toBeGreaterThan(1000);
    expect(b.stats.sessions).toBe(1);
    expect(b.stats.prepared).toBe(0);
    const drops = b.stats.drops;
    const dropped = Object.values(drops).reduce((x, y) => x + y, 0);
    expect(dropped).toBeGreaterThanOrEqual(b.stats.datagramsReceived - before - 5);
    // Nothing forged reached the channel: only the real peer's authenticated traffic does.
    expect(sb.stats.channel.datagramsReceived).toBe(channelBefore);
    const response = await sa.request(Operation.PING.type, [Option.DATA.option(Uint8Array.of(42))]);
    expect([...Option.DATA.require(response.options)]).toEqual([42]);
    expect(sb.isOpen && sa.isOpen).toBe(true);
  });
});
