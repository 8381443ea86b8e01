import { MemoryNetwork } from '@xpp/reliability/testing';
import { Operation, Option } from '@xpp/wire';
import { describe, expect, it } from 'vitest';
import { acceptXppCall, placeXppCall, SipUserAgent, XppEndpoint, type XppCall } from '@xpp/session-sdp';
import { MemoryTransport } from '@xpp/session-sdp/testing';

// The same endpoint, SIP and session code as over UDP, on an in-memory network: what large simulations run.
describe('MemoryTransport', () => {
  it('carries SIP setup and a secured XPP session between two peers, with loss', async () => {
    const network = new MemoryNetwork({ loss: 0.05, seed: 3 });
    const peer = async (host: string) => {
      const endpoint = await XppEndpoint.bind({
        transport: new MemoryTransport(network, { address: host, port: 5070 }),
      });
      const accepted: Promise<XppCall>[] = [];
      const ua = new SipUserAgent({
        transport: new MemoryTransport(network, { address: host, port: 5060 }),
        onInvite: (invite) => accepted.push(acceptXppCall(invite, endpoint)),
      });
      return { endpoint, ua, accepted };
    };
    const alice = await peer('10.0.0.1');
    const bob = await peer('10.0.0.2');
    const call = await placeXppCall(alice.ua, alice.endpoint, bob.ua.contactUri);
    const answered = await bob.accepted[0]!;
    expect(call.session.secure && answered.session.isOpen).toBe(true);
    expect(call.session.remote).toEqual({ address: '10.0.0.2', port: 5070 });
    const data = new Uint8Array(30_000).map((_, i) => i & 0xff);
    const response = await call.session.request(Operation.PING.type, [Option.DATA.option(data)], {
      timeout: 30_000,
    });
    expect(Option.DATA.require(response.options)).toEqual(data);
    expect(network.dropped).toBeGreaterThan(0);
    await call.hangUp();
    await answered.call.ended;
    await Promise.all([alice.ua.close(), bob.ua.close(), alice.endpoint.close(), bob.endpoint.close()]);
  }, 60_000);
});
