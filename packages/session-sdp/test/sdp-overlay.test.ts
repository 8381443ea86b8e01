import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  acceptXppCall,
  buildSdp,
  parseSdp,
  placeXppCall,
  SessionError,
  XPP_OVERLAY_ID_SIZE,
  type XppEndpoint,
  type IncomingInvite,
  type XppDescription,
} from '@xpp/session-sdp';
import { closersAfterEach } from './support/closers.js';
import { xppPeer } from './support/xpp-peer.js';
import { sdpParseError, sdpWithLine } from './support/sdp.js';

const base: XppDescription = { address: '127.0.0.1', port: 5000, ltag: 0x1234, candidates: [] };
const withOverlayLine = (value: string) => sdpWithLine(base, 'ltag', `a=xpp-overlay:${value}`);

describe('a=xpp-overlay in the SDP codec (xpp-pcan §4)', () => {
  it('writes 32 lower-case hex digits at media level and reads the same octets back', () => {
    const overlay = new Uint8Array(XPP_OVERLAY_ID_SIZE).map((_, i) => i * 17);
    const text = buildSdp({ ...base, overlay });
    expect(text).toContain(`a=xpp-overlay:${Buffer.from(overlay).toString('hex')}\r\n`);
    expect(parseSdp(text).overlay).toEqual(overlay);
    expect(parseSdp(buildSdp(base)).overlay).toBeUndefined();
  });

  it('round-trips every overlay id', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (overlay) => {
        expect(parseSdp(buildSdp({ ...base, overlay })).overlay).toEqual(overlay);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses to build an id that is not 16 octets', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 40 }).filter((b) => b.length !== 16),
        (overlay) => {
          expect(() => buildSdp({ ...base, overlay })).toThrow(
            expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error,
          );
        },
      ),
    );
  });

  it('refuses upper-case, short, long, non-hex and duplicate values with BAD_SDP, and nothing else', () => {
    const id = '00112233445566778899aabbccddeeff';
    for (const value of [id.toUpperCase(), id.slice(1), `${id}0`, `${id.slice(2)}zz`, '']) {
      expect(sdpParseError(withOverlayLine(value))?.code, value).toBe('BAD_SDP');
    }
    const twice = withOverlayLine(id).replace(/(a=xpp-overlay:[^\r]*\r\n)/, '$1$1');
    expect(sdpParseError(twice)?.code).toBe('BAD_SDP');
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.stringMatching(/^[0-9a-fA-F]{30,34}$/)), (v) => {
        const error = sdpParseError(withOverlayLine(v));
        if (error !== undefined) expect(error.code).toBe('BAD_SDP');
        else expect(/^[0-9a-f]{32}$/.test(v.trim())).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

const closers = closersAfterEach();

async function peer(overlay?: Uint8Array, blind = false) {
  const accept = (invite: IncomingInvite, endpoint: XppEndpoint) => {
    // A blind answerer does not see the offer's overlay id (as one that does not check), but names its own.
    if (blind) {
      const offer = invite.offerText.replace(/a=xpp-overlay:[^\r]*\r\n/, '');
      Object.defineProperty(invite, 'offerText', { value: offer });
    }
    return acceptXppCall(invite, endpoint, overlay === undefined ? {} : { overlay });
  };
  return { ...(await xppPeer(closers, { accept })), overlay };
}

describe('sessions across overlays (real UDP)', () => {
  const one = new Uint8Array(16).fill(1);
  const two = new Uint8Array(16).fill(2);

  it('an offer naming another overlay is answered 403 and no session opens on either side', async () => {
    const alice = await peer(one);
    const bob = await peer(two);
    const refused = await placeXppCall(alice.ua, alice.endpoint, bob.ua.contactUri, { overlay: one }).catch(
      (e: unknown) => e,
    );
    expect(SessionError.is(refused) && refused.code).toBe('SIP_REJECTED');
    expect((refused as SessionError).status).toBe(403);
    const answered = await bob.accepted[0]!.catch((e: unknown) => e);
    expect(SessionError.is(answered, 'OVERLAY_MISMATCH')).toBe(true);
    expect(alice.endpoint.stats.sessions + bob.endpoint.stats.sessions).toBe(0);
  });

  it('an answer naming another overlay sends no SYN: the offerer rejects with OVERLAY_MISMATCH', async () => {
    // The answerer names its overlay; the offerer's own id is checked against it before open().
    const alice = await peer();
    const bob = await peer(two, true);
    const refused = await placeXppCall(alice.ua, alice.endpoint, bob.ua.contactUri, { overlay: one }).catch(
      (e: unknown) => e,
    );
    expect(SessionError.is(refused, 'OVERLAY_MISMATCH')).toBe(true);
    // The answerer's setup ends on the offerer's BYE; not one datagram (SYN) reached it from the offerer.
    await bob.accepted[0]!.catch(() => undefined);
    expect(bob.endpoint.stats.datagramsReceived).toBe(0);
    expect(alice.endpoint.stats.sessions + bob.endpoint.stats.sessions).toBe(0);
  });

  it('a side without an id learns the other side’s; the same id on both sides links', async () => {
    const carol = await peer();
    const bob = await peer(two);
    const learnt = await placeXppCall(carol.ua, carol.endpoint, bob.ua.contactUri);
    expect(learnt.overlay).toEqual(two);
    expect((await bob.accepted[0]!).overlay).toBeUndefined();
    const same = await placeXppCall(carol.ua, carol.endpoint, bob.ua.contactUri, { overlay: two });
    expect(same.session.isOpen).toBe(true);
    expect((await bob.accepted[1]!).overlay).toEqual(two);
    await learnt.hangUp();
    await same.hangUp();
  });
});
