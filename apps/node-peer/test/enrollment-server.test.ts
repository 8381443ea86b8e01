import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminKeySet, generateAdminKeyPair, generatePeerIdentity } from '@xpp/dht';
import { SipUserAgent } from '@xpp/session-sdp';
import { afterEach, describe, expect, it } from 'vitest';
import { EnrollmentServer } from '../src/membership/enrollment-server.js';
import { enrollWithToken } from '../src/membership/enrollment-client.js';
import { formatInvitation } from '../src/membership/enrollment-codec.js';
import { EnrollmentTokens } from '../src/membership/tokens.js';

const DOMAIN = 'example.org';
const closers: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describe('enrollment server over real UDP', () => {
  it('gives the token back when storing the candidate credential fails: the joiner retries with it and enrolls', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xpp-enroll-'));
    closers.push(() => rmSync(dir, { recursive: true, force: true }));
    const admin = generateAdminKeyPair();
    const admins = AdminKeySet.ofPrivateKey(admin.privateKey);
    const tokens = new EnrollmentTokens(dir);
    let failStore = true;
    const stored: string[] = [];
    const server = new EnrollmentServer({
      domain: DOMAIN,
      adminPrivateKey: admin.privateKey,
      admins,
      tokens,
      isRevoked: () => Promise.resolve(false),
      addCandidateUser: (peerIdHex) => {
        if (failStore) return Promise.reject(new Error('the overlay did not answer the PUT'));
        stored.push(peerIdHex);
        return Promise.resolve();
      },
    });
    const ua = await SipUserAgent.listen({ address: '127.0.0.1', port: 0, onRequest: server.onRequest });
    closers.push(() => ua.close());
    const invitation = formatInvitation(tokens.issue(1).text, `127.0.0.1:${ua.local.port}`);
    const identity = generatePeerIdentity();
    const client = { identity, domain: DOMAIN, admins, host: '127.0.0.1' };

    await expect(enrollWithToken(invitation, undefined, client)).rejects.toMatchObject({ code: 'REFUSED' });
    expect(tokens.size).toBe(1);
    expect(stored).toEqual([]);

    failStore = false;
    const { certificate } = await enrollWithToken(invitation, undefined, client);
    expect(Buffer.from(certificate.publicKey).equals(Buffer.from(identity.publicKey))).toBe(true);
    expect(stored).toEqual([identity.id]);
    // Used now, once and for all; a third attempt is refused.
    expect(tokens.size).toBe(0);
    await expect(enrollWithToken(invitation, undefined, client)).rejects.toMatchObject({ code: 'REFUSED' });
  });
});
