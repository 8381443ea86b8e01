import { sign, verify, type KeyObject } from 'node:crypto';
import { WireError } from '@xpp/wire';
import { normaliseAor } from './aor.js';
import { decodeCredential, SIGNATURE_SIZE, type Credential, type SignedCredential } from './credential.js';
import { DhtError } from './errors.js';
import { ByteReader, ByteWriter, fromUtf8 } from './internal/bytes.js';
import { checkSize } from './internal/codec.js';

// The other values a CREDENTIAL record may hold besides a signed credential (spec §5.6). A credential's octets
// start with its AOR's u16 length, never 0; these start with u16 0 and a one-octet tag, so one decoder tells them
// apart without changing the credential's own layout (test/vectors.json).
const TAGGED = 0;
const TAG_REMOVAL = 1;
const TAG_PUBLIC = 2;
const MAX_FIELD = 1024;
/** Same family as the credential's `XPP-PCAN credential v1`, its own label: neither signature passes for the other. */
const REMOVAL_CONTEXT = new TextEncoder().encode('XPP-PCAN credential-removal v1\0');

/** An administrator-signed removal of the credential of `aor` (a tombstone): replaces every serial below its own. */
export interface CredentialRemoval {
  readonly aor: string;
  readonly serial: number;
  readonly signature: Uint8Array;
}

/** What a GET of a CREDENTIAL answers (spec §5.6): who the user is, without the digest secrets or a signature. */
export interface PublicCredential {
  readonly aor: string;
  readonly username: string;
  readonly realm: string;
  readonly serial: number;
  /** Whether the holder can check MD5 digest responses for this user. */
  readonly md5: boolean;
}

/** A CREDENTIAL record's value, read. */
export type CredentialRecordValue =
  | { readonly type: 'credential'; readonly credential: SignedCredential }
  | { readonly type: 'removal'; readonly removal: CredentialRemoval }
  | { readonly type: 'public'; readonly view: PublicCredential };

function removalSigningBytes(aor: string, serial: number): Uint8Array {
  return new ByteWriter()
    .bytes(REMOVAL_CONTEXT)
    .text(aor, 2, 1, MAX_FIELD, 'aor')
    .u32(serial, 'serial')
    .finish();
}

/**
 * The administrator's removal of `aor`'s credential (`xpp-node user remove`). `serial` must be above the serial of
 * the credential it removes; the AOR can be given back to a user later only with a still higher serial.
 */
export function signCredentialRemoval(
  aor: string,
  serial: number,
  adminPrivateKey: KeyObject,
): CredentialRemoval {
  const normalised = normaliseAor(aor);
  const signature = new Uint8Array(sign(null, removalSigningBytes(normalised, serial), adminPrivateKey));
  return { aor: normalised, serial, signature };
}

/** The value of a CREDENTIAL record that is a tombstone: u16 0, u8 1, u16 len + AOR, u32 serial, u8 64 + signature. */
export function encodeCredentialRemoval(removal: CredentialRemoval): Uint8Array {
  checkSize(removal.signature.length, SIGNATURE_SIZE, SIGNATURE_SIZE, 'signature', false);
  return new ByteWriter()
    .u16(TAGGED, 'tag prefix')
    .u8(TAG_REMOVAL, 'tag')
    .text(removal.aor, 2, 1, MAX_FIELD, 'aor')
    .u32(removal.serial, 'serial')
    .bytes8(removal.signature, 'signature')
    .finish();
}

/** The public view: u16 0, u8 2, u16 len + AOR, username, realm, u32 serial, u8 flags (bit 0: an MD5 secret is held). */
export function encodePublicCredential(view: PublicCredential): Uint8Array {
  const w = new ByteWriter().u16(TAGGED, 'tag prefix').u8(TAG_PUBLIC, 'tag');
  for (const [field, text] of [
    ['aor', view.aor],
    ['username', view.username],
    ['realm', view.realm],
  ] as const)
    w.text(text, 2, 1, MAX_FIELD, field);
  return w
    .u32(view.serial, 'serial')
    .u8(view.md5 ? 1 : 0, 'flags')
    .finish();
}

/** The public view of a credential: what a non-holder may learn (spec §5.6: HA1 never leaves its holders). */
export function publicCredential(credential: Credential): PublicCredential {
  return {
    aor: credential.aor,
    username: credential.username,
    realm: credential.realm,
    serial: credential.serial,
    md5: credential.ha1Md5 !== undefined,
  };
}

function readText(r: ByteReader, field: string): string {
  const bytes = r.bytes16(field);
  checkSize(bytes.length, 1, MAX_FIELD, field, true);
  return fromUtf8(bytes, field);
}

/** Reads any CREDENTIAL record value (untrusted octets: throws `WireError` only). Verifies no signature. */
export function decodeCredentialRecord(bytes: Uint8Array): CredentialRecordValue {
  if (bytes.length < 2 || bytes[0] !== 0 || bytes[1] !== 0)
    return { type: 'credential', credential: decodeCredential(bytes) };
  const r = new ByteReader(bytes, 'CREDENTIAL');
  r.u16('tag prefix');
  const tag = r.u8('tag');
  if (tag === TAG_REMOVAL) {
    const aor = readText(r, 'aor');
    const serial = r.u32('serial');
    const signature = r.bytes8('signature');
    checkSize(signature.length, SIGNATURE_SIZE, SIGNATURE_SIZE, 'signature', true);
    r.end();
    return { type: 'removal', removal: { aor, serial, signature } };
  }
  if (tag === TAG_PUBLIC) {
    const aor = readText(r, 'aor');
    const username = readText(r, 'username');
    const realm = readText(r, 'realm');
    const serial = r.u32('serial');
    const flags = r.u8('flags');
    if ((flags & ~1) !== 0) throw new WireError('BAD_VALUE', `public credential flags ${flags} are unknown`);
    r.end();
    return { type: 'public', view: { aor, username, realm, serial, md5: flags === 1 } };
  }
  throw new WireError('BAD_VALUE', `CREDENTIAL value tag ${tag} is unknown`);
}

/** Whether the removal's signature is the administrator's; `BAD_SIGNATURE` otherwise. */
export function verifyCredentialRemoval(
  removal: CredentialRemoval,
  adminPublicKey: KeyObject,
): CredentialRemoval {
  let ok = false;
  try {
    ok = verify(null, removalSigningBytes(removal.aor, removal.serial), adminPublicKey, removal.signature);
  } catch {
    ok = false;
  }
  if (!ok)
    throw new DhtError('BAD_SIGNATURE', `removal of ${removal.aor} is not signed by the administrator`);
  return removal;
}

/** Checks a tombstone before a store accepts it: administrator signature, and key = its AOR. */
export type RemovalVerifier = (key: string, value: CredentialRemoval) => CredentialRemoval;

/** The tombstone verifier every peer configures with the overlay's administrator public key. */
export function createRemovalVerifier(adminPublicKey: KeyObject): RemovalVerifier {
  return (key, removal) => {
    verifyCredentialRemoval(removal, adminPublicKey);
    if (removal.aor !== key)
      throw new DhtError('CREDENTIAL_REFUSED', `removal of ${removal.aor} stored under key ${key}`);
    return removal;
  };
}
