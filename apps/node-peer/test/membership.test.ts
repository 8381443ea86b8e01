import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createEnrollmentToken,
  decodePeerCertificate,
  enrollmentProof,
  generatePeerIdentity,
  parseEnrollmentToken,
  RecordKind,
  revocationKey,
} from '@xpp/dht';
import { SipHeaders, SipUserAgent, type SipResponse } from '@xpp/session-sdp';
import { waitFor } from '@xpp/reliability/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { DemoSipClient } from '../src/cli/demo/sip-client.js';
import { invitePeer, revokePeer } from '../src/cli/peer-commands.js';
import { addUser } from '../src/cli/user-add.js';
import { removeUser } from '../src/cli/user-remove.js';
import type { NodeConfig } from '../src/config.js';
import type { NodeHandle } from '../src/daemon.js';
import {
  ENROLL_CONTENT_TYPE,
  encodeEnrollRequest,
  parseInvitation,
} from '../src/membership/enrollment-codec.js';
import { EnrollmentTokens } from '../src/membership/tokens.js';
import { nodeConfig as config, startDaemon } from './support/daemon.js';
import { runXppNode } from './support/node-process.js';

const handles: NodeHandle[] = [];
afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.close()));
});

const scratch = () => mkdtempSync(join(tmpdir(), 'xpp-membership-'));

const start = (c: NodeConfig): Promise<NodeHandle> => startDaemon(c, handles);

const adminOf = (h: NodeHandle) => ({ dataDir: h.config.dataDir, httpPort: h.ports.http });

/** A stranger's raw enrollment MESSAGE, from a socket of its own; resolves with the answer. */
async function strangerEnroll(port: number, body: Uint8Array): Promise<SipResponse> {
  const ua = await SipUserAgent.listen({ address: '127.0.0.1', port: 0 });
  try {
    return await new Promise<SipResponse>((resolve, reject) => {
      const headers = new SipHeaders()
        .append('Via', ua.layer.newVia())
        .append('Max-Forwards', '70')
        .append('From', `<sip:stranger@localhost>;tag=${randomBytes(4).toString('hex')}`)
        .append('To', '<sip:xpp-enroll@localhost>')
        .append('Call-ID', `${randomBytes(8).toString('hex')}@stranger`)
        .append('CSeq', '1 MESSAGE')
        .append('Content-Type', ENROLL_CONTENT_TYPE);
      ua.layer.sendRequest(
        { kind: 'request', method: 'MESSAGE', uri: 'sip:xpp-enroll@localhost', headers, body },
        { address: '127.0.0.1', port },
        {
          response: (r) => {
            if (r.status >= 200) resolve(r);
          },
          timeout: () => reject(new Error('no answer')),
          transportError: reject,
        },
      );
    });
  } finally {
    await ua.close();
  }
}

describe('certified membership in the daemon', () => {
  it('a joining node without a certificate refuses to start and names the fix; an old peer.id is refused', async () => {
    const dir = scratch();
    const admin = await start(config(join(dir, 'admin')));
    const joining = config(join(dir, 'b'), {
      joinVia: `127.0.0.1:${admin.ports.sip}`,
      adminPublicKey: admin.keys.adminPublicKeyHex,
    });
    await expect(start(joining)).rejects.toThrow(/no valid peer certificate.*peer certify.*--token/s);

    const legacy = join(dir, 'legacy');
    await runXppNode(['peer', 'show', '--data-dir', legacy]);
    writeFileSync(join(legacy, 'peer.id'), `${randomBytes(16).toString('hex')}\n`);
    const refused = await runXppNode([
      'start',
      '--data-dir',
      legacy,
      '--sip-port',
      '0',
      '--xpp-port',
      '0',
      '--http-port',
      '0',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/peer\.id is from a version without certified membership.*cannot be kept/);
  });

  it('the founding node certifies itself; peer show, certify and show again round trip through the CLI', async () => {
    const dir = scratch();
    const adminDir = join(dir, 'admin');
    const hostDir = join(dir, 'host');
    expect((await runXppNode(['keygen', '--data-dir', adminDir])).code).toBe(0);
    expect(statSync(join(adminDir, 'identity.key')).mode & 0o077).toBe(0);
    const shown = await runXppNode(['peer', 'show', '--data-dir', hostDir]);
    expect(shown.code).toBe(0);
    const publicKey = /^public key ([0-9a-f]{64})$/m.exec(shown.stdout)?.[1] as string;
    const id = /^peer id ([0-9a-f]{32})$/m.exec(shown.stdout)?.[1] as string;
    expect(shown.stdout).toContain('certificate: none');
    const out = join(dir, 'host.cert');
    const certified = await runXppNode([
      'peer',
      'certify',
      publicKey,
      '--data-dir',
      adminDir,
      '--days',
      '30',
      '--out',
      out,
    ]);
    expect(certified.stderr).toBe('');
    expect(certified.stdout).toContain(`certified peer ${id} for localhost`);
    const certificate = decodePeerCertificate(new Uint8Array(readFileSync(out)));
    expect(certificate.notAfter - certificate.notBefore).toBe(30 * 86_400);
    writeFileSync(join(hostDir, 'peer.cert'), readFileSync(out));
    writeFileSync(join(hostDir, 'admin.pub'), readFileSync(join(adminDir, 'admin.pub')));
    const again = await runXppNode(['peer', 'show', '--data-dir', hostDir]);
    expect(again.stdout).toContain(`peer id ${id}`);
    expect(again.stdout).toContain('certificate: valid');
    // The same certificate under another domain is not valid there.
    const elsewhere = await runXppNode(['peer', 'show', '--data-dir', hostDir, '--domain', 'other.test']);
    expect(elsewhere.stdout).toMatch(/certificate: NOT valid/);
    // Certifying needs the administrator key.
    const noKey = await runXppNode(['peer', 'certify', publicKey, '--data-dir', hostDir]);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(/no administrator private key/);
  });

  it('join with a token enrolls, registers and is invited; the token is used once; wrong tokens get nothing', async () => {
    const dir = scratch();
    const admin = await start(config(join(dir, 'admin')));
    const invitation = await invitePeer(adminOf(admin), { days: 1 });
    expect(invitation.text).toContain(`@127.0.0.1:${admin.ports.sip}`);
    expect(statSync(join(admin.config.dataDir, 'enrollment-tokens.json')).mode & 0o077).toBe(0);

    const joined = await start(
      config(join(dir, 'b'), {
        joinVia: `127.0.0.1:${admin.ports.sip}`,
        enrollToken: invitation.text,
        adminPublicKey: admin.keys.adminPublicKeyHex,
      }),
    );
    expect(existsSync(join(dir, 'b', 'peer.cert'))).toBe(true);
    await waitFor(() => (admin.front.stats.clients > 0 ? true : undefined), {
      what: 'the enrolled host registered as a candidate',
      timeoutMs: 20_000,
      intervalMs: 50,
    });
    await admin.front.evaluateInvitePolicy();
    await joined.ready;
    expect(joined.node.state).toBe('peer');

    // The same token again, from another host: refused, and that host does not start.
    await expect(
      start(
        config(join(dir, 'c'), {
          joinVia: `127.0.0.1:${admin.ports.sip}`,
          enrollToken: invitation.text,
          adminPublicKey: admin.keys.adminPublicKeyHex,
        }),
      ),
    ).rejects.toThrow(/refused the token .*403/);
    expect(existsSync(join(dir, 'c', 'peer.cert'))).toBe(false);

    // A stranger with a guessed token (right form, unknown id), or a live token's id with a guessed secret.
    const live = await invitePeer(adminOf(admin), { days: 1 });
    const stranger = generatePeerIdentity();
    const guessed = createEnrollmentToken({ days: 1 });
    const { id: liveId } = parseEnrollmentToken(parseInvitation(live.text).token);
    for (const tokenId of [guessed.id, liveId]) {
      const answer = await strangerEnroll(
        admin.ports.sip,
        encodeEnrollRequest({
          kind: 'token',
          publicKey: stranger.publicKey,
          tokenId: new Uint8Array(Buffer.from(tokenId, 'hex')),
          proof: enrollmentProof(guessed.secret, tokenId, stranger.publicKey),
        }),
      );
      expect(answer.status).toBe(403);
      expect(answer.body.length).toBe(0);
    }
    // Garbage gets the same answer.
    expect((await strangerEnroll(admin.ports.sip, new Uint8Array(randomBytes(80)))).status).toBe(403);
    // The live token was not spent by the stranger's attempts: its holder still enrolls with it.
    const d = await start(
      config(join(dir, 'd'), {
        joinVia: `127.0.0.1:${admin.ports.sip}`,
        enrollToken: live.text,
        adminPublicKey: admin.keys.adminPublicKeyHex,
      }),
    );
    expect(d.keys.certificate).toBeDefined();
    const metrics = await (await fetch(`http://127.0.0.1:${admin.ports.http}/metrics`)).text();
    expect(metrics).toMatch(/^xpp_enrollments_total\{kind="token",result="issued"\} 2$/m);
    expect(metrics).toMatch(/^xpp_certificate_days_left 8\d\.\d+/m);
  });

  it('an expired token is refused, also after a restart (the token store on a clock)', () => {
    const dir = scratch();
    let now = Date.now();
    const token = new EnrollmentTokens(dir, () => now).issue(1);
    expect(statSync(join(dir, 'enrollment-tokens.json')).mode & 0o077).toBe(0);
    const key = generatePeerIdentity().publicKey;
    const proof = enrollmentProof(token.secret, token.id, key);
    now += 86_400_000 + 1_000;
    expect(new EnrollmentTokens(dir, () => now).redeem(token.id, key, proof)).toEqual({
      refused: 'expired-token',
    });
    // Within its window, read back from the file: good once, then unknown.
    now -= 2_000;
    const tokens = new EnrollmentTokens(dir, () => now);
    expect(tokens.redeem(token.id, key, proof)).toEqual({ secret: token.secret, expiresAt: token.expiresAt });
    expect(new EnrollmentTokens(dir, () => now).redeem(token.id, key, proof)).toEqual({
      refused: 'unknown-token',
    });
  });

  it('peer revoke stores an administrator-signed revocation in the overlay', async () => {
    const admin = await start(config(join(scratch(), 'admin')));
    const victim = generatePeerIdentity();
    await revokePeer(adminOf(admin), victim.id);
    expect(await admin.node.get(revocationKey(victim.id), RecordKind.REVOCATION)).toHaveLength(1);
    await expect(revokePeer(adminOf(admin), 'not-an-id')).rejects.toThrow(/not a peer id/);
  });

  it('user remove stores a signed tombstone: the user can no longer register; no node keeps a copy to republish', async () => {
    const admin = await start(config(join(scratch(), 'admin')));
    const at = { domain: 'localhost', ...adminOf(admin) };
    await addUser(at, { aor: 'sip:carol@localhost', password: 'carol-pw' });
    const carol = await DemoSipClient.open({
      aor: 'sip:carol@localhost',
      password: 'carol-pw',
      peer: { address: '127.0.0.1', port: admin.ports.sip },
    });
    try {
      expect(await carol.register()).toBe(200);
      const removed = await removeUser(adminOf(admin), { aor: 'sip:carol@LOCALHOST' });
      expect(removed.aor).toBe('sip:carol@localhost');
      expect(await carol.register()).toBe(401);
      // Credentials live with their holders (docs/decisions/node-peer-users.md): no credentials.json any more.
      expect(existsSync(join(admin.config.dataDir, 'credentials.json'))).toBe(false);
    } finally {
      carol.close();
    }
  });

  it('an uncertified node (membership off) registered as a candidate is never made a peer', async () => {
    const dir = scratch();
    const admin = await start(config(join(dir, 'admin')));
    await addUser({ domain: 'localhost', ...adminOf(admin) }, { aor: 'sip:rogue@localhost', password: 'pw' });
    const rogue = await start(
      config(join(dir, 'rogue'), {
        membership: 'off',
        joinVia: `127.0.0.1:${admin.ports.sip}`,
        joinAor: 'sip:rogue@localhost',
        joinPassword: 'pw',
        adminPublicKey: admin.keys.adminPublicKeyHex,
      }),
    );
    await waitFor(() => (admin.front.stats.clients > 0 ? true : undefined), {
      what: 'the rogue registered as a candidate',
      timeoutMs: 20_000,
      intervalMs: 50,
    });
    for (let i = 0; i < 3; i++) await admin.front.evaluateInvitePolicy();
    expect(rogue.node.state).toBe('candidate');
    expect(admin.status().zones).toEqual(['']);
    expect(admin.node.neighbours()).toHaveLength(0);
  });
});
