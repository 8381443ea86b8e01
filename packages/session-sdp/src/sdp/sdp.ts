import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import { parse, write, type MediaDescription, type SessionDescription } from 'sdp-transform';
import { SessionError } from '../errors.js';
import { checkCandidate, fromRawCandidate, isPort, toRawCandidate, type RawCandidate } from './candidate.js';
import type { BuildSdpOptions, ParsedXppDescription, XppCandidate, XppDescription } from './description.js';
import { checkLtag, formatLtag, parseLtagValue } from './ltag.js';

/** The `m=` protocol of an XPP media line (spec §4). */
export const XPP_SDP_PROTOCOL = 'UDP/XPP';
/** Default bound on the octets of one SDP body {@link parseSdp} reads. */
export const DEFAULT_MAX_SDP_OCTETS = 16_384;
/** Default bound on the candidates {@link parseSdp} keeps; further ones are ignored. */
export const DEFAULT_MAX_CANDIDATES = 16;
/** Length of an X25519 public key. */
export const X25519_PUBLIC_KEY_SIZE = 32;

/**
 * Bound on the decoded octets of `a=xpp-auth`: a certificate and a signature (≈ 200 octets in the overlay's
 * policy) fit many times over, while a hostile body cannot make a verifier hash kilobytes per INVITE.
 */
export const MAX_XPP_AUTH_OCTETS = 1024;

/** Octets of an overlay id (`a=xpp-overlay`, xpp-pcan §4). */
export const XPP_OVERLAY_ID_SIZE = 16;

const OVERLAY_VALUE = /^[0-9a-f]{32}$/;
const KEY_VALUE = /^x25519:([A-Za-z0-9_-]{43})=?$/;
const AUTH_VALUE = /^[A-Za-z0-9_-]+$/;
/** Characters of the unpadded base64url of {@link MAX_XPP_AUTH_OCTETS} octets. */
const MAX_AUTH_CHARS = Math.ceil((MAX_XPP_AUTH_OCTETS * 4) / 3);
/** `a=xpp-ack:<mode> …` (spec §5.2, profile v2): `piggyback` is the one mode so far; unknown ones are ignored. */
const XPP_ACK = 'xpp-ack:';
const PIGGYBACK = 'piggyback';

export interface ParseSdpOptions {
  /** Larger bodies are refused with `TOO_LARGE`. Default {@link DEFAULT_MAX_SDP_OCTETS}. */
  readonly maxOctets?: number;
  /** Candidates beyond this many are ignored. Default {@link DEFAULT_MAX_CANDIDATES}. */
  readonly maxCandidates?: number;
}

/**
 * Writes an offer or answer: `m=application <port> UDP/XPP *`, `c=`, `a=ltag`, candidates, `a=xpp-key`,
 * `a=xpp-auth`, `a=xpp-overlay`.
 */
export function buildSdp(description: XppDescription, options: BuildSdpOptions = {}): string {
  const ipVer = isIP(description.address);
  if (ipVer === 0) throw new SessionError('INVALID_ARGUMENT', `address ${description.address} is not an IP`);
  if (!isPort(description.port))
    throw new SessionError('INVALID_ARGUMENT', `port ${description.port} out of range`);
  checkLtag(description.ltag);
  description.candidates.forEach(checkCandidate);
  const attributes = [{ value: `ltag:${formatLtag(description.ltag)}` }];
  if (description.piggybackAcks === true) attributes.push({ value: `${XPP_ACK}${PIGGYBACK}` });
  if (description.publicKey !== undefined) {
    if (description.publicKey.length !== X25519_PUBLIC_KEY_SIZE) {
      throw new SessionError(
        'INVALID_ARGUMENT',
        `public key of ${description.publicKey.length} octets, expected 32`,
      );
    }
    attributes.push({ value: `xpp-key:x25519:${Buffer.from(description.publicKey).toString('base64url')}` });
  }
  if (description.auth !== undefined) {
    if (description.auth.length === 0 || description.auth.length > MAX_XPP_AUTH_OCTETS) {
      throw new SessionError(
        'INVALID_ARGUMENT',
        `xpp-auth of ${description.auth.length} octets, expected 1-${MAX_XPP_AUTH_OCTETS}`,
      );
    }
    attributes.push({ value: `xpp-auth:${Buffer.from(description.auth).toString('base64url')}` });
  }
  if (description.overlay !== undefined) {
    if (description.overlay.length !== XPP_OVERLAY_ID_SIZE) {
      throw new SessionError(
        'INVALID_ARGUMENT',
        `overlay id of ${description.overlay.length} octets, expected ${XPP_OVERLAY_ID_SIZE}`,
      );
    }
    attributes.push({ value: `xpp-overlay:${Buffer.from(description.overlay).toString('hex')}` });
  }
  const session: SessionDescription = {
    version: 0,
    origin: {
      username: options.username ?? '-',
      sessionId: options.sessionId ?? String(randomInt(1, 2 ** 47)),
      sessionVersion: options.sessionVersion ?? 1,
      netType: 'IN',
      ipVer,
      address: description.address,
    },
    name: options.sessionName ?? 'xpp',
    timing: { start: 0, stop: 0 },
    connection: { version: ipVer, ip: description.address },
    media: [
      {
        type: 'application',
        port: description.port,
        protocol: XPP_SDP_PROTOCOL,
        payloads: '*',
        rtp: [],
        fmtp: [],
        candidates: description.candidates.map(toRawCandidate) as NonNullable<MediaDescription['candidates']>,
        invalid: attributes,
      },
    ],
  };
  return write(session);
}

/**
 * Reads an offer or answer. Throws `SessionError` `BAD_SDP` naming the line (no `UDP/XPP` media line, bad or
 * missing ltag, no usable address, bad key) or `TOO_LARGE`, and nothing else, whatever the input.
 */
export function parseSdp(text: string, options: ParseSdpOptions = {}): ParsedXppDescription {
  const maxOctets = options.maxOctets ?? DEFAULT_MAX_SDP_OCTETS;
  if (text.length > maxOctets || Buffer.byteLength(text) > maxOctets) {
    throw new SessionError('TOO_LARGE', `SDP body exceeds ${maxOctets} octets`);
  }
  const lines = text.split(/\r\n|\r|\n/);
  let session: SessionDescription;
  try {
    session = parse(text);
  } catch (cause) {
    throw new SessionError('BAD_SDP', 'SDP body cannot be parsed', { cause });
  }
  const media = session.media.find(
    (m) => m.protocol !== undefined && String(m.protocol).toUpperCase() === XPP_SDP_PROTOCOL && m.port !== 0,
  );
  if (media === undefined) {
    throw new SessionError('BAD_SDP', `no "m=application <port> ${XPP_SDP_PROTOCOL}" line`);
  }
  const mLine = `m=${String(media.type)} ${String(media.port)}`;
  const located = (prefix: string) => locate(lines, prefix);
  if (String(media.type) !== 'application' || !isPort(media.port)) {
    throw bad(`${XPP_SDP_PROTOCOL} media line is not "application" with a port 1-65535`, located(mLine));
  }
  const ignoredLines: string[] = [];
  const attributes = [...(media.invalid ?? []), ...(session.invalid ?? [])].map((a) => String(a.value));
  const piggybackAcks = attributes.some(
    (a) => a.startsWith(XPP_ACK) && a.slice(XPP_ACK.length).trim().split(/\s+/).includes(PIGGYBACK),
  );
  const ltag = readLtag(attributes, located);
  const publicKey = readKey(attributes, located);
  const auth = readAuth(attributes, located);
  const overlay = readOverlay(attributes, located);
  const connection = media.connection ?? session.connection;
  const address = connection === undefined ? '' : (String(connection.ip).split('/')[0] ?? '');
  if (isIP(address) === 0) {
    throw bad(
      connection === undefined
        ? `no "c=" line for the ${XPP_SDP_PROTOCOL} media`
        : `"c=" address is not an IP`,
      connection === undefined ? located(mLine) : located('c='),
    );
  }
  const candidates: XppCandidate[] = [];
  for (const raw of (media.candidates ?? []) as RawCandidate[]) {
    const candidate = fromRawCandidate(raw);
    if (candidate === undefined || candidates.length >= (options.maxCandidates ?? DEFAULT_MAX_CANDIDATES)) {
      ignoredLines.push(`a=candidate:${String(raw.foundation)} …`);
    } else {
      candidates.push(candidate);
    }
  }
  return {
    ...(piggybackAcks ? { piggybackAcks } : {}),
    address,
    port: media.port,
    ltag,
    candidates,
    ...(publicKey === undefined ? {} : { publicKey }),
    ...(auth === undefined ? {} : { auth }),
    ...(overlay === undefined ? {} : { overlay }),
    ignoredLines,
  };
}

interface Located {
  readonly line?: string;
  readonly lineNumber?: number;
}

function readLtag(attributes: readonly string[], located: (prefix: string) => Located): number {
  let found: { value: number; raw: string } | undefined;
  for (const attribute of attributes) {
    const colon = attribute.indexOf(':');
    const name = attribute.slice(0, colon).trim();
    // `Itag` is the slides' misspelling; spec §4 accepts it on receipt.
    if (colon < 0 || (name !== 'ltag' && name !== 'Itag')) continue;
    const value = parseLtagValue(attribute.slice(colon + 1));
    if (value === undefined)
      throw bad('ltag is not 0x followed by 1-4 hex digits', located(`a=${attribute}`));
    if (found !== undefined && found.value !== value) {
      throw bad('two different ltags', located(`a=${attribute}`));
    }
    found = { value, raw: attribute };
  }
  if (found === undefined) throw bad('no "a=ltag:0xHHHH" line', {});
  return found.value;
}

function readKey(
  attributes: readonly string[],
  located: (prefix: string) => Located,
): Uint8Array | undefined {
  for (const attribute of attributes) {
    if (!attribute.startsWith('xpp-key:')) continue;
    const match = KEY_VALUE.exec(attribute.slice('xpp-key:'.length).trim());
    if (match?.[1] === undefined) {
      throw bad('xpp-key is not "x25519:" and a 32-octet base64url key', located(`a=${attribute}`));
    }
    return new Uint8Array(Buffer.from(match[1], 'base64url'));
  }
  return undefined;
}

/**
 * `a=xpp-auth:` is strict where `a=ltag` is lenient: one line, canonical unpadded base64url (no stray trailing
 * bits), 1 to {@link MAX_XPP_AUTH_OCTETS} octets — so the octets a verifier sees are exactly the ones signed.
 */
function readAuth(
  attributes: readonly string[],
  located: (prefix: string) => Located,
): Uint8Array | undefined {
  let found: Uint8Array | undefined;
  for (const attribute of attributes) {
    if (!attribute.startsWith('xpp-auth:')) continue;
    const where = located(`a=${attribute.slice(0, 40)}`);
    if (found !== undefined) throw bad('more than one xpp-auth', where);
    const value = attribute.slice('xpp-auth:'.length).trim();
    if (value.length > MAX_AUTH_CHARS) throw bad(`xpp-auth longer than ${MAX_XPP_AUTH_OCTETS} octets`, where);
    if (!AUTH_VALUE.test(value) || value.length % 4 === 1) {
      throw bad('xpp-auth is not unpadded base64url', where);
    }
    const octets = Buffer.from(value, 'base64url');
    if (octets.toString('base64url') !== value) throw bad('xpp-auth is not canonical base64url', where);
    found = new Uint8Array(octets);
  }
  return found;
}

/**
 * `a=xpp-overlay:` is strict: one line, exactly 32 lower-case hex digits. A lenient reading would let two spellings
 * of one id compare different (a refused session) or a malformed one pass as "no id" (a fork not noticed).
 */
function readOverlay(
  attributes: readonly string[],
  located: (prefix: string) => Located,
): Uint8Array | undefined {
  let found: Uint8Array | undefined;
  for (const attribute of attributes) {
    if (!attribute.startsWith('xpp-overlay:')) continue;
    const where = located(`a=${attribute.slice(0, 50)}`);
    if (found !== undefined) throw bad('more than one xpp-overlay', where);
    const value = attribute.slice('xpp-overlay:'.length).trim();
    if (!OVERLAY_VALUE.test(value)) throw bad('xpp-overlay is not 32 lower-case hex digits', where);
    found = new Uint8Array(Buffer.from(value, 'hex'));
  }
  return found;
}

function locate(lines: readonly string[], prefix: string): Located {
  const index = lines.findIndex((l) => l.startsWith(prefix));
  const line = lines[index];
  return line === undefined ? { line: prefix } : { line, lineNumber: index + 1 };
}

function bad(message: string, where: Located): SessionError {
  const at =
    where.line === undefined ? '' : ` (line ${where.lineNumber ?? '?'}: ${JSON.stringify(where.line)})`;
  return new SessionError('BAD_SDP', `${message}${at}`, where);
}
