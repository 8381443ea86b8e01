/** Why the proxy answered a request itself instead of forwarding it. */
export type ProxyRejection =
  | 'too-many-hops'
  | 'bad-request'
  | 'unknown-user'
  | 'no-binding'
  | 'no-flow-peer'
  /** RFC 5626 §5.3: the request must go over a flow that died (its connection closed, its keepalives stopped). */
  | 'flow-failed'
  | 'not-found'
  | 'overloaded'
  | 'overlay-error'
  | 'unmatched-cancel'
  | 'timeout'
  | 'transport-error'
  /** A Route set that does not start with us, or a Request-URI of another domain: no open relay. */
  | 'relay-refused'
  | 'unsupported-uri'
  | 'unknown-method'
  /** A `Require` (as a UAS) or `Proxy-Require` (as a proxy) naming an option tag we do not implement: 420. */
  | 'bad-extension'
  /** A client's call from a user of the domain without a (valid) Proxy-Authorization: 407. */
  | 'challenged'
  /** A Proxy-Authorization that did not verify (or an unknown user): a fresh 407, counted against the back-off. */
  | 'auth-failed'
  /** A Proxy-Authorization refused unchecked while its (AOR, address) pair waits after failures: 403. */
  | 'auth-backoff'
  /** An `XPP-Identity` whose date is out of the window: 403 Stale Date. */
  | 'identity-stale'
  /** An `XPP-Identity` malformed, not signed by a certified peer of the domain, or of a revoked one: 438. */
  | 'identity-invalid'
  /** An `XPP-Identity` whose (Call-ID, CSeq) was already asserted: 438. */
  | 'identity-replayed'
  /** A request for a NATed peer's flow held here without a valid peer signature (XPP-Flow-Auth): no open relay. */
  | 'flow-route-refused';

export const ALLOW = 'INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER';
/**
 * Methods of RFC 3261 and its extensions that this proxy routes to users: addressed to the server itself they get
 * 404 (no such user), where any other method gets 501 Not Implemented.
 */
export const KNOWN_METHODS: ReadonlySet<string> = new Set([
  ...ALLOW.split(', '),
  'PRACK',
  'SUBSCRIBE',
  'NOTIFY',
  'PUBLISH',
  'INFO',
  'REFER',
  'MESSAGE',
  'UPDATE',
]);

export const REJECTION_STATUS: Readonly<Record<ProxyRejection, number>> = {
  'too-many-hops': 483,
  'bad-request': 400,
  // The same answer as a known user without a binding: an unauthenticated caller learns nothing about who exists.
  'unknown-user': 480,
  'no-binding': 480,
  'no-flow-peer': 480,
  'flow-failed': 430,
  'not-found': 404,
  overloaded: 503,
  'overlay-error': 503,
  'unmatched-cancel': 481,
  timeout: 408,
  'transport-error': 503,
  'relay-refused': 403,
  'unsupported-uri': 416,
  'unknown-method': 501,
  'bad-extension': 420,
  challenged: 407,
  'auth-failed': 407,
  'auth-backoff': 403,
  'identity-stale': 403,
  'identity-invalid': 438,
  'identity-replayed': 438,
  'flow-route-refused': 403,
};
