import { Operation, Option } from '@xpp/wire';
import { describe, expect, it } from 'vitest';
import {
  acceptXppCall,
  placeXppCall,
  SessionError,
  SipUserAgent,
  XppEndpoint,
  type IncomingInvite,
  type XppEndpointOptions,
} from '@xpp/session-sdp';
import { closersAfterEach } from './support/closers.js';
import { xppPeer } from './support/xpp-peer.js';

const closers = closersAfterEach();

const peer = (options: XppEndpointOptions = {}) => xppPeer(closers, { endpoint: options });

describe('XPP sessions set up by SIP alone (INVITE/200/ACK, BYE)', () => {
  it('opens a secured session from the SDP offer/answer and ends it with BYE', async () => {
    const alice = await peer();
    const bob = await peer();
    const outgoing = await placeXppCall(alice.ua, alice.endpoint, bob.ua.contactUri);
    const incoming = await bob.accepted[0]!;
    expect(outgoing.session.isOpen && incoming.session.isOpen).toBe(true);
    expect(outgoing.session.secure).toBe(true);
    expect(outgoing.session.remoteLtag).toBe(incoming.session.localLtag);
    const response = await outgoing.session.request(Operation.PING.type, [
      Option.DATA.option(Uint8Array.of(1, 2, 3)),
    ]);
    expect([...Option.DATA.require(response.options)]).toEqual([1, 2, 3]);

    const closed = new Promise((resolve) => incoming.session.on('close', resolve));
    await outgoing.hangUp();
    await closed;
    expect(await incoming.call.ended).toBe('remote-bye');
    expect(alice.endpoint.stats.sessions + bob.endpoint.stats.sessions).toBe(0);
    expect(alice.ua.calls + bob.ua.calls).toBe(0);
  });

  it('ends the call with BYE when the session ends on its own', async () => {
    const alice = await peer();
    const bob = await peer();
    const outgoing = await placeXppCall(alice.ua, alice.endpoint, bob.ua.contactUri);
    const incoming = await bob.accepted[0]!;
    incoming.session.close();
    expect(await outgoing.call.ended).toBe('remote-bye');
    expect(outgoing.session.isClosed).toBe(true);
  });

  it('serves the first request even when it arrives before the answerer has seen its session open', async () => {
    const endpoint = await XppEndpoint.bind();
    const ua = await SipUserAgent.listen({
      onInvite: (invite: IncomingInvite) => {
        // Handlers go on in onSession: the caller may send the moment its own side is open.
        acceptXppCall(invite, endpoint, {
          onSession: (session) => session.handle(0x4001, () => [Option.SIZE.option(7)]),
        }).catch(() => undefined);
      },
    });
    closers.push(
      () => endpoint.close(),
      () => ua.close(),
    );
    const alice = await peer();
    for (let i = 0; i < 20; i++) {
      const call = await placeXppCall(alice.ua, alice.endpoint, ua.contactUri);
      const response = await call.session.request(0x4001);
      expect(Option.SIZE.require(response.options)).toBe(7);
      await call.hangUp();
    }
  });

  it('answers 488 to an offer the security policy refuses', async () => {
    const alice = await peer({ security: 'off' });
    const bob = await peer();
    const refused = await placeXppCall(alice.ua, alice.endpoint, bob.ua.contactUri).catch((e: unknown) => e);
    expect(SessionError.is(refused) && refused.code).toBe('SIP_REJECTED');
    expect((refused as SessionError).status).toBe(488);
    expect(alice.endpoint.stats.prepared + bob.endpoint.stats.prepared).toBe(0);
  });
});
