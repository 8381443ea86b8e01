import { AdminKeySet, generateAdminKeyPair, generatePeerIdentity, issuePeerCertificate } from '@xpp/dht';
import { systemClock } from '@xpp/reliability';
import { waitFor } from '@xpp/reliability/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FLOW_AUTH_HEADER,
  FLOW_ROUTE_LABEL,
  FlowSigner,
  PEER_FLOW_HEADER,
  PEER_FLOW_LABEL,
} from '../src/proxy/flow-route.js';
import { DOMAIN, TestOverlay, type TestPeer } from './sipp/overlay.js';
import { finalResponse, rawRequest, statusLine, UdpListener } from './support/raw-sip.js';

// The holder of a NATed peer's flow is no open relay (docs/decisions/node-peer-nat-sip.md): only a certified peer's
// fresh signature sends a request on over the flow, and only the NATed peer itself opens or moves its flow.
let overlay: TestOverlay;
let holder: TestPeer;
let nated: UdpListener;
let mallory: UdpListener;
let natedSigner: FlowSigner;
let peerSigner: FlowSigner;
/** Certified by another administrator: a valid signature, but not of this overlay's domain keys. */
let foreignSigner: FlowSigner;

const signerOf = (membership: ReturnType<TestOverlay['certify']>): FlowSigner =>
  new FlowSigner({ ...membership, domain: DOMAIN, clock: systemClock });

function foreignMembership(): ReturnType<TestOverlay['certify']> {
  const admin = generateAdminKeyPair();
  const identity = generatePeerIdentity();
  const now = Math.floor(Date.now() / 1000);
  const certificate = issuePeerCertificate(
    { publicKey: identity.publicKey, domain: DOMAIN, notBefore: now - 60, notAfter: now + 86_400 },
    admin.privateKey,
  );
  return { identity, certificate, admins: new AdminKeySet([admin.publicKey]) };
}

beforeAll(async () => {
  overlay = await TestOverlay.certified(1);
  holder = overlay.peers[0]!;
  nated = await UdpListener.open();
  mallory = await UdpListener.open();
  natedSigner = signerOf(overlay.certify());
  peerSigner = signerOf(overlay.certify());
  foreignSigner = signerOf(foreignMembership());
});
afterAll(async () => {
  nated.close();
  mallory.close();
  await overlay.close();
});

/** A flow REGISTER from `from`, signed by `signer` for the holder (or as `fields` say). */
function flowRegister(from: UdpListener, signer: FlowSigner, callId = `flow-${Math.random()}`) {
  const value = signer.sign(PEER_FLOW_LABEL, [holder.node.id, callId, '1 REGISTER']);
  return rawRequest(from.address, 'REGISTER', `sip:127.0.0.1:${holder.sip.port}`, {
    'Call-ID': callId,
    [PEER_FLOW_HEADER]: value,
  });
}

const route = () => `<sip:${natedSigner.peerId}@127.0.0.1:${holder.sip.port};lr;xpp-flow>`;

/** An INVITE for the NATed peer's flow through the holder, from mallory, with `auth` as its XPP-Flow-Auth. */
function invite(auth: (callId: string) => string | undefined, callId = `call-${Math.random()}`) {
  return rawRequest(mallory.address, 'INVITE', 'sip:bob@10.0.0.2:5070', {
    'Call-ID': callId,
    Route: route(),
    [FLOW_AUTH_HEADER]: auth(callId),
  });
}

const signed = (signer: FlowSigner) => (callId: string) =>
  signer.sign(FLOW_ROUTE_LABEL, [natedSigner.peerId, 'INVITE', callId, '1 INVITE']);

describe('the holder of a NATed peer’s flow', () => {
  it('keeps the flow a certified peer registers, and refuses one registered by a key of another domain', async () => {
    const ok = await finalResponse(nated, flowRegister(nated, natedSigner), holder.sip);
    expect(statusLine(ok)).toBe('SIP/2.0 200 OK');
    expect(holder.front.natTraversal.held).toBe(1);
    const foreign = await finalResponse(mallory, flowRegister(mallory, foreignSigner), holder.sip);
    expect(statusLine(foreign)).toBe('SIP/2.0 403 Forbidden');
  });

  it('does not let a replayed flow REGISTER move the flow to the attacker', async () => {
    const register = flowRegister(nated, natedSigner);
    expect(statusLine(await finalResponse(nated, register, holder.sip))).toBe('SIP/2.0 200 OK');
    // The same signed REGISTER (its signature copied) sent again from mallory's address, as a new transaction.
    const replay = { ...register, text: register.text.replace(/branch=[^;\r]+/, 'branch=z9hG4bK-replayed') };
    expect(statusLine(await finalResponse(mallory, replay, holder.sip))).toBe('SIP/2.0 403 Forbidden');
  });

  it('refuses an outsider’s request naming the flow: unsigned, signed by another domain’s key, or a copied signature', async () => {
    const before = holder.front.stats.rejected['flow-route-refused'] ?? 0;
    const other = signed(peerSigner)('another-call');
    for (const request of [
      invite(() => undefined),
      invite(signed(foreignSigner)),
      invite(() => other),
      invite(() => 'not-base64!;t=1'),
    ]) {
      const answer = await finalResponse(mallory, request, holder.sip, nated);
      expect(statusLine(answer)).toBe('SIP/2.0 403 Forbidden');
    }
    expect(holder.front.stats.rejected['flow-route-refused']).toBe(before + 4);
  });

  it('sends a certified peer’s signed request on over the flow, once (a replay is refused)', async () => {
    const request = invite(signed(peerSigner));
    mallory.send(request.text, holder.sip);
    await waitFor(() =>
      nated.messages().some((m) => m.kind === 'request' && m.headers.get('call-id') === request.callId),
    );
    const forwarded = nated
      .messages()
      .find((m) => m.kind === 'request' && m.headers.get('call-id') === request.callId);
    // The Route naming the NATed peer goes on with it (the NATed peer removes it); the holder's signature does not.
    expect(forwarded?.headers.get('route')).toBe(route());
    expect(forwarded?.headers.has(FLOW_AUTH_HEADER)).toBe(false);
    const replay = { ...request, text: request.text.replace(/branch=[^;\r]+/, 'branch=z9hG4bK-again') };
    const answer = await finalResponse(mallory, replay, holder.sip);
    expect(statusLine(answer)).toBe('SIP/2.0 403 Forbidden');
  });

  it('answers 430 for a peer whose flow it does not hold', async () => {
    const stranger = signerOf(overlay.certify());
    const callId = `call-${Math.random()}`;
    const request = rawRequest(mallory.address, 'INVITE', 'sip:bob@10.0.0.2:5070', {
      'Call-ID': callId,
      Route: `<sip:${stranger.peerId}@127.0.0.1:${holder.sip.port};lr;xpp-flow>`,
      [FLOW_AUTH_HEADER]: peerSigner.sign(FLOW_ROUTE_LABEL, [stranger.peerId, 'INVITE', callId, '1 INVITE']),
    });
    expect(statusLine(await finalResponse(mallory, request, holder.sip))).toBe('SIP/2.0 430 Flow Failed');
  });
});
