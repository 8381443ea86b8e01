// Session setup by SIP (INVITE → open session), unauthenticated against authenticated (xpp-pcan §5.5), on the
// same endpoints in the same run: the kinds alternate setup by setup (the first one rotating), so a busy
// machine's drift hits all alike. The authenticators are real Ed25519 via node:crypto:
// - `auth`: a 150-octet blob (key ‖ padding ‖ signature), one signature and one verification per side;
// - `cert`: certificate-like, a 160-octet blob (key ‖ admin signature over it ‖ signature), one signature and two
//   verifications per side plus a key import — what an overlay that checks a certificate every time pays.
import {
  acceptXppCall,
  placeXppCall,
  SipUserAgent,
  XppEndpoint,
  type SessionAuthenticator,
  type XppCall,
} from '../src/index.js';
import { toyAuthenticator, toyIdentity } from '../test/support/toy-auth.js';

export const SETUP_KINDS = ['plain', 'auth', 'cert'] as const;
export type SetupKind = (typeof SETUP_KINDS)[number];
/**
 * Medians of one round's setups of each kind: wall-clock ms, and the process's CPU ms over the same interval
 * (both ends run in this process) — the CPU figure is what a loaded machine distorts least.
 */
export interface SetupRound {
  readonly ms: Readonly<Record<SetupKind, number>>;
  readonly cpuMs: Readonly<Record<SetupKind, number>>;
}

export const AUTH_BLOB_OCTETS = 150;
export const CERT_BLOB_OCTETS = 160;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** `rounds` rounds of `setups` setups of each kind. */
export async function measureSetups(rounds: number, setups: number): Promise<SetupRound[]> {
  const [idA, idB, admin] = [toyIdentity('a'), toyIdentity('b'), toyIdentity('admin')];
  const auths: Record<Exclude<SetupKind, 'plain'>, [SessionAuthenticator, SessionAuthenticator]> = {
    auth: [
      toyAuthenticator(idA, [idA, idB], { blobOctets: AUTH_BLOB_OCTETS }),
      toyAuthenticator(idB, [idA, idB], { blobOctets: AUTH_BLOB_OCTETS }),
    ],
    cert: [
      toyAuthenticator(idA, [], { admin, blobOctets: CERT_BLOB_OCTETS }),
      toyAuthenticator(idB, [], { admin, blobOctets: CERT_BLOB_OCTETS }),
    ],
  };
  const a = await XppEndpoint.bind();
  const b = await XppEndpoint.bind();
  const pending: Promise<XppCall>[] = [];
  const callee = (auth?: SessionAuthenticator) =>
    SipUserAgent.listen({
      onInvite: (invite) => pending.push(acceptXppCall(invite, b, auth === undefined ? {} : { auth })),
    });
  const uaA = await SipUserAgent.listen({});
  const callees: Record<SetupKind, SipUserAgent> = {
    plain: await callee(),
    auth: await callee(auths.auth[1]),
    cert: await callee(auths.cert[1]),
  };
  const once = async (kind: SetupKind): Promise<{ ms: number; cpuMs: number }> => {
    const cpu = process.cpuUsage();
    const start = performance.now();
    const call = await placeXppCall(
      uaA,
      a,
      callees[kind].contactUri,
      kind === 'plain' ? {} : { auth: auths[kind][0] },
    );
    const ms = performance.now() - start;
    const used = process.cpuUsage(cpu);
    await call.hangUp();
    return { ms, cpuMs: (used.user + used.system) / 1000 };
  };
  // Warm-up: the first calls pay for JIT and key set-up, not for what is compared.
  for (let i = 0; i < 6; i++) await once(SETUP_KINDS[i % SETUP_KINDS.length]!);
  const results: SetupRound[] = [];
  for (let round = 0; round < rounds; round++) {
    const wall: Record<SetupKind, number[]> = { plain: [], auth: [], cert: [] };
    const cpu: Record<SetupKind, number[]> = { plain: [], auth: [], cert: [] };
    for (let i = 0; i < setups; i++) {
      for (let k = 0; k < SETUP_KINDS.length; k++) {
        const kind = SETUP_KINDS[(round + i + k) % SETUP_KINDS.length]!;
        const measured = await once(kind);
        wall[kind].push(measured.ms);
        cpu[kind].push(measured.cpuMs);
      }
    }
    const medians = (xs: Record<SetupKind, number[]>) =>
      Object.fromEntries(SETUP_KINDS.map((kind) => [kind, median(xs[kind])])) as Record<SetupKind, number>;
    results.push({ ms: medians(wall), cpuMs: medians(cpu) });
  }
  await Promise.allSettled(pending);
  await Promise.all([uaA.close(), ...Object.values(callees).map((ua) => ua.close()), a.close(), b.close()]);
  return results;
}
