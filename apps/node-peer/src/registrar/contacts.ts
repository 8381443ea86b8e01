import { advertisesXppPeer } from '@xpp/dht';
import { parseNameAddr, parseSipUri, type SipRequest } from '@xpp/session-sdp';

/** Expiry bounds of the registrar (RFC 3261 §10.3 steps 7–8). */
export interface ExpiryBounds {
  /** Shorter requests get 423 Interval Too Brief with this Min-Expires. Default 60 s. */
  readonly minExpires: number;
  /** Longer requests are shortened to it. Default 3600 s. */
  readonly maxExpires: number;
  /** Used when the request says nothing. Default 3600 s. */
  readonly defaultExpires: number;
}

export const DEFAULT_EXPIRY_BOUNDS: ExpiryBounds = Object.freeze({
  minExpires: 60,
  maxExpires: 3600,
  defaultExpires: 3600,
});

/** Contacts one REGISTER may carry; more is answered 400 (the overlay holds at most 16 per AOR anyway). */
export const MAX_CONTACTS_PER_REGISTER = 16;

/** One Contact of a REGISTER, read. */
export interface RegisterContact {
  /** The contact URI (what requests for the AOR are sent to). */
  readonly uri: string;
  /** RFC 5626 `+sip.instance` (quotes and angle brackets removed), or empty. */
  readonly instanceId: string;
  /** RFC 5626 `reg-id`, 0 when absent. */
  readonly regId: number;
  /** Seconds asked for: the `expires` parameter, else the Expires header, else undefined (the default applies). */
  readonly expires?: number;
  /** Advertised `+sip.xpp-peer` (spec §7): the client can become a peer. */
  readonly xppPeer: boolean;
  /** The `q` parameter (RFC 3261 §20.10), 0 to 1: the order the proxy forks in (highest first). */
  readonly q?: number;
}

/** What a REGISTER asks for. */
export type RegisterContacts =
  | { readonly type: 'query' }
  | { readonly type: 'remove-all' }
  | { readonly type: 'bind'; readonly contacts: readonly RegisterContact[] }
  | { readonly type: 'invalid'; readonly reason: string };

const SECONDS = /^\d{1,10}$/;
/** RFC 3261 §25.1 qvalue: `0[.ddd]` or `1[.000]`. */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

function qValue(text: string | null | undefined): number | undefined | 'bad' {
  if (text === undefined) return undefined;
  return text !== null && QVALUE.test(text.trim()) ? Number(text.trim()) : 'bad';
}

function seconds(text: string | null | undefined): number | undefined | 'bad' {
  if (text === undefined || text === null) return undefined;
  return SECONDS.test(text.trim()) ? Math.min(Number(text.trim()), 2 ** 32 - 1) : 'bad';
}

function unquote(text: string): string {
  return text.replace(/^"(.*)"$/, '$1').replace(/^<(.*)>$/, '$1');
}

/** Reads the Contact and Expires headers of a REGISTER (RFC 3261 §10.3 step 6, RFC 5626 §6). Pure. */
export function readRegisterContacts(request: SipRequest): RegisterContacts {
  const values = request.headers.getAll('contact');
  const headerExpires = seconds(request.headers.get('expires'));
  if (headerExpires === 'bad') return { type: 'invalid', reason: 'malformed Expires' };
  if (values.length === 0) return { type: 'query' };
  if (values.some((v) => v.trim() === '*')) {
    // §10.3 step 6: `*` only alone and with Expires: 0.
    return values.length === 1 && headerExpires === 0
      ? { type: 'remove-all' }
      : { type: 'invalid', reason: 'Contact * needs Expires: 0 and no other contact' };
  }
  if (values.length > MAX_CONTACTS_PER_REGISTER)
    return { type: 'invalid', reason: `more than ${MAX_CONTACTS_PER_REGISTER} contacts` };
  const contacts: RegisterContact[] = [];
  for (const value of values) {
    const nameAddr = parseNameAddr(value);
    if (nameAddr === undefined || parseSipUri(nameAddr.uri) === undefined)
      return { type: 'invalid', reason: 'malformed Contact' };
    const expires = seconds(nameAddr.params.get('expires'));
    const regId = seconds(nameAddr.params.get('reg-id'));
    const q = qValue(nameAddr.params.get('q'));
    if (expires === 'bad' || regId === 'bad' || q === 'bad')
      return { type: 'invalid', reason: 'malformed expires, reg-id or q' };
    const instance = nameAddr.params.get('+sip.instance');
    const chosen = expires ?? headerExpires;
    contacts.push({
      uri: nameAddr.uri,
      instanceId: typeof instance === 'string' ? unquote(instance) : '',
      regId: regId ?? 0,
      ...(chosen === undefined ? {} : { expires: chosen }),
      xppPeer: advertisesXppPeer(value),
      ...(q === undefined ? {} : { q }),
    });
  }
  return { type: 'bind', contacts };
}

/** The granted expiry of a contact: 0 (remove), `too-brief`, or seconds within the bounds. Pure. */
export function grantExpires(asked: number | undefined, bounds: ExpiryBounds): number | 'too-brief' {
  const wanted = asked ?? bounds.defaultExpires;
  if (wanted === 0) return 0;
  if (wanted < bounds.minExpires) return 'too-brief';
  return Math.min(wanted, bounds.maxExpires);
}
