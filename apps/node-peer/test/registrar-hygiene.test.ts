import { systemClock, type Clock } from '@xpp/reliability';
import type { SipResponse } from '@xpp/session-sdp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestOverlay, type TestPeer } from './sipp/overlay.js';
import { challengeParams, digestAuthorization, RawSipClient } from './support/raw-sip-client.js';

// Attacks on the registrar as an outsider makes them: raw UDP from sockets on distinct loopback addresses.
const BACKOFF_MS = 60_000;
/** The fronts' clock, moved forward by the test to end a back-off without waiting for it. */
let skew = 0;
const clock: Clock = {
  now: () => systemClock.now() + skew,
  wallNow: () => systemClock.wallNow() + skew,
  setTimer: (callback, ms) => systemClock.setTimer(callback, ms),
  clearTimer: (handle) => systemClock.clearTimer(handle),
};
let overlay: TestOverlay;
let peer: TestPeer;
const clients: RawSipClient[] = [];

beforeAll(async () => {
  overlay = await TestOverlay.start(2, {
    digestAlgorithms: ['MD5', 'SHA-256'],
    clock,
    authLimits: { freeFailures: 5, backoffMs: BACKOFF_MS, maxBackoffMs: BACKOFF_MS },
  });
  peer = overlay.peers[1]!;
  await overlay.addUser('alice', 'wonderland');
  await overlay.addUser('bob', 'builder');
});
afterAll(async () => {
  for (const client of clients.splice(0)) client.close();
  await overlay.close();
});

async function client(address: string): Promise<RawSipClient> {
  const c = await RawSipClient.open(address);
  clients.push(c);
  return c;
}

/** What an observer can compare between two answers: status, reason, header names, challenge parameters. */
function shape(response: SipResponse): unknown {
  const challenges = response.headers
    .getAll('www-authenticate')
    .map((v) => v.replace(/nonce="[^"]*"/, 'nonce="…"'));
  const names = [...response.headers].map((h) => h.name.toLowerCase()).sort();
  return { status: response.status, reason: response.reason, names, challenges };
}

describe('registrar hygiene (spec §6) against raw UDP', () => {
  it('a wrong digest gets the same answer for a known and an unknown user: no enumeration', async () => {
    const c = await client('127.0.0.21');
    const known = await c.register(peer.sip, 'sip:alice@localhost', 'not-her-password');
    const unknown = await c.register(peer.sip, 'sip:nobody@localhost', 'not-her-password');
    expect(known.final.status).toBe(401);
    expect(shape(unknown.final)).toEqual(shape(known.final));
    expect(shape(unknown.challenge)).toEqual(shape(known.challenge));
    // A fresh challenge each time, never stale: the client is told nothing but "try again".
    expect(challengeParams(known.final)?.get('nonce')).not.toBe(known.nonce);
    expect(challengeParams(known.final)?.has('stale')).toBe(false);
  });

  it('50 wrong answers from one address: the real user registers from another at once, and from the same one after the back-off', async () => {
    const attacker = await client('127.0.0.22');
    const statuses: number[] = [];
    const unknownStatuses: number[] = [];
    for (let i = 0; i < 50; i++) {
      statuses.push((await attacker.register(peer.sip, 'sip:alice@localhost', `guess-${i}`)).final.status);
      unknownStatuses.push(
        (await attacker.register(peer.sip, 'sip:ghost@localhost', `guess-${i}`)).final.status,
      );
    }
    // Limited after 5 failures, and an unknown AOR limited exactly like a known one.
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses).toContain(403);
    expect(unknownStatuses.slice(0, 5)).toEqual(statuses.slice(0, 5));
    expect(unknownStatuses).toContain(403);
    expect(peer.front.stats.authBackoffs).toBeGreaterThan(0);

    // Alice from her own address is not locked out by the attacker's failures.
    const alice = await client('127.0.0.23');
    expect((await alice.register(peer.sip, 'sip:alice@localhost', 'wonderland')).final.status).toBe(200);

    // Behind the attacker's address (a shared NAT), during the back-off: refused unchecked, with Retry-After …
    const during = await attacker.register(peer.sip, 'sip:alice@localhost', 'wonderland');
    expect(during.final.status).toBe(403);
    expect(Number(during.final.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // … and once it is over, a correct answer from that address is taken.
    skew += BACKOFF_MS;
    expect((await attacker.register(peer.sip, 'sip:alice@localhost', 'wonderland')).final.status).toBe(200);
  });

  it('a digest computed for another Request-URI is refused', async () => {
    const c = await client('127.0.0.24');
    const other = await c.register(peer.sip, 'sip:bob@localhost', 'builder', {
      digestUri: 'sip:elsewhere.example',
    });
    expect(other.final.status).toBe(400);
    expect(await overlay.peers[0]!.front.location!.lookup('sip:bob@localhost')).toEqual([]);
  });

  it('a nonce issued to one address does not work from another', async () => {
    const issuedTo = await client('127.0.0.25');
    const thief = await client('127.0.0.26');
    const { nonce } = await issuedTo.register(peer.sip, 'sip:bob@localhost', undefined);
    const stolen = await thief.register(peer.sip, 'sip:bob@localhost', 'builder', { nonce });
    // Even with the right password: the nonce is not one this peer gave that address.
    expect(stolen.final.status).toBe(401);
    const own = await issuedTo.register(peer.sip, 'sip:bob@localhost', 'builder', { nonce });
    expect(own.final.status).toBe(200);
  });

  it('a wrong answer does not use up the nonce count; a verified one does', async () => {
    const c = await client('127.0.0.27');
    const uri = 'sip:localhost';
    const headers = (password: string, nonce: string, realm: string) => ({
      From: '<sip:bob@localhost>;tag=nc',
      To: '<sip:bob@localhost>',
      Contact: `<sip:bob@${c.local.address}:${c.local.port}>`,
      Expires: '600',
      Authorization: digestAuthorization({ username: 'bob', realm, password, nonce, uri, nc: '00000001' }),
    });
    const challenge = await c.request(peer.sip, 'REGISTER', uri, {
      From: '<sip:bob@localhost>;tag=nc',
      To: '<sip:bob@localhost>',
    });
    const params = challengeParams(challenge)!;
    const nonce = params.get('nonce')!;
    const realm = params.get('realm')!;
    expect((await c.request(peer.sip, 'REGISTER', uri, headers('wrong', nonce, realm))).status).toBe(401);
    expect((await c.request(peer.sip, 'REGISTER', uri, headers('builder', nonce, realm))).status).toBe(200);
    // The same count again is a replay.
    expect((await c.request(peer.sip, 'REGISTER', uri, headers('builder', nonce, realm))).status).toBe(401);
  });
});
