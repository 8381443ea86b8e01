import { SessionError } from '../errors.js';
import { abortable } from '../internal/abortable.js';
import type { XppDescription } from '../sdp/description.js';
import { checkLtag } from '../sdp/ltag.js';
import { X25519_PUBLIC_KEY_SIZE } from '../sdp/sdp.js';

/** How the overlay (or any user) authenticates the two ends of an XPP session set up by SIP (xpp-pcan §5.5). */
export interface SessionAuthenticator {
  /** The octets of this side's `a=xpp-auth` for `transcript` (opaque to session-sdp). */
  sign(transcript: Uint8Array): Uint8Array;
  /** The remote side's authenticated id (e.g. a peer id in hex); throws (any error) when `auth` does not hold. */
  verify(auth: Uint8Array, transcript: Uint8Array): string | Promise<string>;
}

/** The ASCII label every transcript starts with (xpp-pcan §5.5). */
export const AUTH_TRANSCRIPT_LABEL = 'xpp-auth v1';
const LABEL = Buffer.from(AUTH_TRANSCRIPT_LABEL, 'ascii');

/** One side's part of a transcript: its ltag and its X25519 public key for this session. */
export interface TranscriptSide {
  readonly ltag: number;
  readonly publicKey: Uint8Array;
}

/**
 * What a side's `a=xpp-auth` signs (xpp-pcan §5.5): label `xpp-auth v1` ‖ Call-ID octets ‖ sender ltag u16 ‖
 * sender X25519 key (32) ‖ [answer: offer ltag u16 ‖ offer key]. The Call-ID is the header value as sent, UTF-8,
 * without a length prefix: every later field has a fixed size, so no two inputs give the same octets. Binding the
 * Call-ID and both keys ties the signature to this one call, so it cannot be replayed into another call or moved
 * onto a key the signer did not choose. Throws `INVALID_ARGUMENT` for an out-of-range ltag or a key that is not
 * 32 octets.
 */
export function authTranscript(
  input: TranscriptSide & { readonly callId: string; readonly offer?: TranscriptSide },
): Uint8Array {
  const callId = Buffer.from(input.callId, 'utf8');
  const sides = input.offer === undefined ? [input] : [input, input.offer];
  const out = new Uint8Array(LABEL.length + callId.length + sides.length * (2 + X25519_PUBLIC_KEY_SIZE));
  out.set(LABEL, 0);
  out.set(callId, LABEL.length);
  let at = LABEL.length + callId.length;
  for (const side of sides) {
    checkLtag(side.ltag);
    if (side.publicKey.length !== X25519_PUBLIC_KEY_SIZE) {
      throw new SessionError(
        'INVALID_ARGUMENT',
        `transcript key of ${side.publicKey.length} octets, expected 32`,
      );
    }
    out[at] = side.ltag >>> 8;
    out[at + 1] = side.ltag & 0xff;
    out.set(side.publicKey, at + 2);
    at += 2 + X25519_PUBLIC_KEY_SIZE;
  }
  return out;
}

/** `local` with its `a=xpp-auth` for the call `callId` (an answer also signs the offer's ltag and key). */
export function signDescription(
  auth: SessionAuthenticator,
  local: XppDescription,
  callId: string,
  offer?: XppDescription,
): XppDescription {
  if (local.publicKey === undefined) {
    throw new SessionError('INVALID_ARGUMENT', 'an authenticated session needs a=xpp-key (security is off)');
  }
  const transcript = authTranscript({
    callId,
    ltag: local.ltag,
    publicKey: local.publicKey,
    ...(offer === undefined ? {} : { offer: sideOf(offer) }),
  });
  return { ...local, auth: auth.sign(transcript) };
}

/**
 * Checks the remote side's `a=xpp-auth` and returns the id `auth.verify` gave. `offer` is the offer when `remote`
 * is an answer. Rejects with `UNAUTHENTICATED` (no key, no auth, or `verify` threw — its error is the cause) or
 * `ABORTED` when `signal` fires first: an asynchronous verifier (a revocation lookup) cannot hold a call open
 * beyond what its caller allows.
 */
export async function verifyDescription(
  auth: SessionAuthenticator,
  remote: XppDescription,
  callId: string,
  options: { offer?: XppDescription; signal?: AbortSignal | undefined } = {},
): Promise<string> {
  const what = options.offer === undefined ? 'offer' : 'answer';
  if (remote.publicKey === undefined || remote.auth === undefined) {
    throw new SessionError(
      'UNAUTHENTICATED',
      `the ${what} has no ${remote.publicKey === undefined ? 'a=xpp-key' : 'a=xpp-auth'}`,
    );
  }
  const transcript = authTranscript({
    callId,
    ltag: remote.ltag,
    publicKey: remote.publicKey,
    ...(options.offer === undefined ? {} : { offer: sideOf(options.offer) }),
  });
  let verdict: string | Promise<string>;
  try {
    verdict = auth.verify(remote.auth, transcript);
  } catch (cause) {
    throw refused(what, cause);
  }
  const id = await bounded(Promise.resolve(verdict), options.signal).catch((cause: unknown) => {
    throw SessionError.is(cause, 'ABORTED') ? cause : refused(what, cause);
  });
  if (typeof id !== 'string') throw refused(what, new TypeError('verify returned no id'));
  return id;
}

function sideOf(description: XppDescription): TranscriptSide {
  if (description.publicKey === undefined) {
    throw new SessionError('UNAUTHENTICATED', 'the offer has no a=xpp-key');
  }
  return { ltag: description.ltag, publicKey: description.publicKey };
}

function refused(what: string, cause: unknown): SessionError {
  const reason = cause instanceof Error ? `: ${cause.message}` : '';
  return new SessionError('UNAUTHENTICATED', `the ${what}'s a=xpp-auth does not hold${reason}`, { cause });
}

function bounded<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  return abortable<T>(signal, (resolve, reject) => void promise.then(resolve, reject));
}
