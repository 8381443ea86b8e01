// The relay of RELAY-CONNECT (docs/decisions/dht-nat.md part 4) attacked, black box over real UDP on loopback: an
// outsider without a certificate, raw datagrams to the relay's port, a certified caller that is no neighbour, and a
// certified neighbour over its budget. Only the last gets anything relayed, and only up to its bound.
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import {
  buildSdp,
  offerXppDescription,
  parseSdp,
  placeXppCall,
  SipUserAgent,
  XppEndpoint,
  type XppSession,
} from '@xpp/session-sdp';
import { encodeFragment, Flag } from '@xpp/wire';
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeRelayConnectResponse,
  DhtOperation,
  encodeRelayConnect,
  OverlayNode,
  type PeerIdentity,
} from '@xpp/dht';
import { TestnetMembership, waitFor } from '@xpp/dht/testing';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

const membership = new TestnetMembership('relay.invalid');
const TIMERS = {
  keepaliveInterval: 2_000,
  claimTimeout: 1_000,
  refreshInterval: 5_000,
  requestTimeout: 4_000,
};

async function node(
  identity: PeerIdentity | undefined = membership.identity(Math.random),
): Promise<OverlayNode> {
  const n = await OverlayNode.create({
    host: '127.0.0.1',
    dimensions: 2,
    ...TIMERS,
    ...(identity === undefined ? {} : { membership: membership.membership(identity) }),
  });
  closers.push(() => n.close());
  return n;
}

/** `from`'s open session to `to` (its link). */
function sessionTo(from: OverlayNode, to: OverlayNode): XppSession {
  const { address, port } = to.endpoint.address;
  const session = from.endpoint
    .sessions()
    .find((s) => s.isOpen && s.remote?.address === address && s.remote.port === port);
  if (session === undefined) throw new Error(`no session from ${from.id} to ${to.id}`);
  return session;
}

/**
 * A RELAY-CONNECT a peer makes by hand on `session` (its link to the relay): an offer signed as `identity` for
 * `target`, relayed. Resolves with the answer's ltag, or rejects with the relay's refusal.
 */
async function askRelay(
  session: XppSession,
  endpoint: XppEndpoint,
  identity: PeerIdentity,
  overlay: Uint8Array | undefined,
  target: OverlayNode,
  via: XppEndpoint,
  forwarded = false,
): Promise<number> {
  const callId = randomBytes(9).toString('base64url');
  const offer = offerXppDescription(endpoint, {
    callId,
    auth: membership.authenticator(identity, 'valid'),
    via: via.address,
    ...(overlay === undefined ? {} : { overlay }),
  });
  try {
    const response = await session.request(
      DhtOperation.RELAY_CONNECT.type,
      encodeRelayConnect({
        peer: target.peerId,
        offer: { relayed: true, forwarded, callId, sdp: buildSdp(offer.description) },
      }),
      { timeout: 4_000 },
    );
    return parseSdp(decodeRelayConnectResponse(response.options)).ltag;
  } finally {
    offer.cancel();
  }
}

describe('RELAY-CONNECT under attack (real UDP)', () => {
  it(
    'relays for certified neighbours only, within their budget; forged datagrams are forwarded to nobody',
    { timeout: 60_000 },
    async () => {
      // R [0,½)×[0,½), B [0,½)×[½,1), A [½,1)×[0,½), C [½,1)×[½,1): A and B are R's neighbours, not each other's.
      const aIdentity = membership.identity(Math.random);
      const r = await node();
      const a = await node(aIdentity);
      const b = await node();
      const c = await node();
      r.bootstrap();
      await r.invite(a.ua.contactUri);
      await r.invite(b.ua.contactUri);
      await a.invite(c.ua.contactUri);
      await waitFor(
        () =>
          [r, a, b, c].every((n) => n.neighbours().length > 0 && n.neighbours().every((m) => m.linked)) &&
          r.neighbours().some((m) => m.id === a.id) &&
          r.neighbours().some((m) => m.id === b.id),
        { timeoutMs: 20_000 },
      );
      expect(a.neighbours().map((m) => m.id)).not.toContain(b.id);
      const relayStats = () => r.endpoint.relay.stats;

      // 1. Outsiders: our own node without membership, and a rogue user agent and endpoint with no a=xpp-auth, are
      // refused at the call: no session, so no link to ask a relay on.
      const outsider = await node(undefined);
      outsider.bootstrap();
      await expect(outsider.invite(r.ua.contactUri)).rejects.toMatchObject({ code: 'SIP_REJECTED' });
      const ua = await SipUserAgent.listen({ address: '127.0.0.1', user: a.id });
      const rogueEndpoint = await XppEndpoint.bind({ address: '127.0.0.1' });
      closers.push(async () => {
        await ua.close();
        await rogueEndpoint.close();
      });
      await expect(placeXppCall(ua, rogueEndpoint, r.ua.contactUri)).rejects.toMatchObject({
        code: 'SIP_REJECTED',
      });

      // 2. A certified peer that is no neighbour of R: its call is taken (it may be about to announce itself), but
      // RELAY-CONNECT needs a neighbour's link: 403, counted.
      const strangerIdentity = membership.identity(Math.random);
      const strangerUa = await SipUserAgent.listen({ address: '127.0.0.1', user: strangerIdentity.id });
      const strangerEndpoint = await XppEndpoint.bind({ address: '127.0.0.1' });
      closers.push(async () => {
        await strangerUa.close();
        await strangerEndpoint.close();
      });
      const overlay = Buffer.from(r.overlayId as string, 'hex');
      const stranger = await placeXppCall(strangerUa, strangerEndpoint, r.ua.contactUri, {
        auth: membership.authenticator(strangerIdentity, 'valid'),
        overlay,
      });
      await expect(
        askRelay(stranger.session, strangerEndpoint, strangerIdentity, overlay, b, r.endpoint),
      ).rejects.toMatchObject({ code: 'ERROR_RESPONSE', status: 403 });
      expect(r.stats.refused['not-a-neighbour']).toBeGreaterThanOrEqual(1);
      expect(relayStats().allocated).toBe(0);

      // 3. The certified neighbour A: two relayed sessions to B (answered, allocated), the third refused and counted.
      const link = sessionTo(a, r);
      const ltags: number[] = [];
      for (let i = 0; i < 2; i++)
        ltags.push(await askRelay(link, a.endpoint, aIdentity, overlay, b, r.endpoint));
      expect(relayStats()).toMatchObject({ allocations: 2, allocated: 2 });
      await expect(askRelay(link, a.endpoint, aIdentity, overlay, b, r.endpoint)).rejects.toMatchObject({
        code: 'ERROR_RESPONSE',
        status: 503,
      });
      expect(r.stats.refused['relay-peer-full']).toBe(1);
      expect(relayStats().allocated).toBe(2);

      // 4. A certified neighbour posing as a relay: it hands R an offer "from B" (forwarded) that it signed itself.
      // The offer's a=xpp-auth names A, not B: 403, counted, no session.
      await expect(askRelay(link, a.endpoint, aIdentity, overlay, b, r.endpoint, true)).rejects.toMatchObject(
        { code: 'ERROR_RESPONSE', status: 403 },
      );
      expect(r.stats.refused['relay-wrong-offerer']).toBe(1);

      // 5. Raw UDP to the relay's port: fragments that name the allocations' ltags, from an address the relay did not
      // latch, are forwarded to nobody. (First B's SYNs for the two sessions A never completed stop: its setup
      // gives up after a request timeout.)
      await new Promise((resolve) => setTimeout(resolve, TIMERS.requestTimeout + 500));
      const raw = createSocket('udp4');
      raw.bind(0, '127.0.0.1');
      await once(raw, 'listening');
      closers.push(() => new Promise<void>((resolve) => raw.close(() => resolve())));
      const forwarded = relayStats().forwarded.datagrams;
      const toB = b.endpoint.stats.datagramsReceived;
      for (const ltag of ltags)
        for (let local = 1; local < 64; local++) {
          const forged = encodeFragment({ flags: Flag.REL, seq: local, localId: local, remoteId: ltag });
          raw.send(forged, r.endpoint.address.port, r.endpoint.address.address);
        }
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(relayStats().forwarded.datagrams).toBe(forwarded);
      // B hears only its own sessions' traffic (keepalives), none of the 126 forgeries.
      expect(b.endpoint.stats.datagramsReceived - toB).toBeLessThan(20);
      expect(relayStats().dropped['over-rate']).toBe(0);
    },
  );
});
