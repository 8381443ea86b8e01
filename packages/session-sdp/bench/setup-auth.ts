// Session setup by SIP (INVITE → open session), unauthenticated against authenticated (xpp-pcan §5.5), on the
// same endpoints in the same run: setups alternate one by one (the first of each pair rotating), so a busy
// machine's drift hits both alike. The authenticator is certificate-like and real: Ed25519 via node:crypto, a
// 160-octet blob (public key ‖ admin signature over it ‖ transcript signature), two verifications per side.
import {
  acceptXppCall,
  placeXppCall,
  SipUserAgent,
  XppEndpoint,
  type SessionAuthenticator,
  type XppCall,
} from '../src/index.js';
import { toyAuthenticator, toyIdentity } from '../test/helpers/toy-auth.js';

export interface SetupRound {
  /** Median ms of the unauthenticated setups of this round. */
  readonly plainMs: number;
  /** Median ms of the authenticated ones. */
  readonly authMs: number;
}

export const AUTH_BLOB_OCTETS = 160;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** `rounds` rounds of `setups` pairs; each round reports the medians of its two kinds. */
export async function measureSetups(rounds: number, setups: number): Promise<SetupRound[]> {
  const admin = toyIdentity('admin');
  const authA = toyAuthenticator(toyIdentity('a'), [], { admin, blobOctets: AUTH_BLOB_OCTETS });
  const authB = toyAuthenticator(toyIdentity('b'), [], { admin, blobOctets: AUTH_BLOB_OCTETS });
  const a = await XppEndpoint.bind();
  const b = await XppEndpoint.bind();
  const pending: Promise<XppCall>[] = [];
  const callee = (auth?: SessionAuthenticator) =>
    SipUserAgent.listen({
      onInvite: (invite) => pending.push(acceptXppCall(invite, b, auth === undefined ? {} : { auth })),
    });
  const uaA = await SipUserAgent.listen({});
  const plainB = await callee();
  const authUaB = await callee(authB);
  const once = async (auth: boolean): Promise<number> => {
    const start = performance.now();
    const call = auth
      ? await placeXppCall(uaA, a, authUaB.contactUri, { auth: authA })
      : await placeXppCall(uaA, a, plainB.contactUri);
    const ms = performance.now() - start;
    await call.hangUp();
    return ms;
  };
  // Warm-up: the first calls pay for JIT and key set-up, not for what is compared.
  for (let i = 0; i < 3; i++) await once(i % 2 === 0);
  const results: SetupRound[] = [];
  for (let round = 0; round < rounds; round++) {
    const plain: number[] = [];
    const auth: number[] = [];
    for (let i = 0; i < setups; i++) {
      const authFirst = (round + i) % 2 === 0;
      for (const withAuth of authFirst ? [true, false] : [false, true]) {
        (withAuth ? auth : plain).push(await once(withAuth));
      }
    }
    results.push({ plainMs: median(plain), authMs: median(auth) });
  }
  await Promise.allSettled(pending);
  await Promise.all([uaA.close(), plainB.close(), authUaB.close(), a.close(), b.close()]);
  return results;
}
