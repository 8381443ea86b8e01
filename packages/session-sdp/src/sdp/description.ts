/** A transport address: IPv4 or IPv6 literal and UDP port. */
export interface TransportAddress {
  readonly address: string;
  readonly port: number;
}

/** The candidate types XPP uses (RFC 8839 `typ`). */
export type CandidateType = 'host' | 'srflx';

/** One ICE-style `a=candidate` line (RFC 8839 syntax). XPP uses UDP and component 1 only. */
export interface XppCandidate extends TransportAddress {
  readonly foundation: string;
  readonly component: number;
  readonly priority: number;
  readonly type: CandidateType;
  /** `raddr`/`rport`: the host address a server-reflexive candidate was learned from. */
  readonly related?: TransportAddress;
}

/** What one side says in its offer or answer (spec §4): where to reach it, its ltag and optionally its key. */
export interface XppDescription {
  /** The `c=` address. */
  readonly address: string;
  /** The `m=application <port> UDP/XPP *` port. */
  readonly port: number;
  /** 16-bit local tag (`a=ltag`). */
  readonly ltag: number;
  /** `a=candidate` lines; empty when the side gave none. */
  readonly candidates: readonly XppCandidate[];
  /** `a=xpp-ack:piggyback`: this side reads ACKs carried on data (spec §5.2, profile v2). */
  readonly piggybackAcks?: boolean;
  /** The raw 32-octet X25519 public key of `a=xpp-key:x25519:…`, if present. */
  readonly publicKey?: Uint8Array;
  /**
   * The octets of `a=xpp-auth:<base64url unpadded>` (xpp-pcan §5.5), if present: opaque here, made and checked by
   * a `SessionAuthenticator`. At most `MAX_XPP_AUTH_OCTETS`.
   */
  readonly auth?: Uint8Array;
  /**
   * The 16 octets of `a=xpp-overlay:<32 hex digits>` (xpp-pcan §4): the overlay this side belongs to, if any. Two
   * sides that both name one and name different ones are in different overlays (see `XppCallAuthOptions.overlay`).
   */
  readonly overlay?: Uint8Array;
}

/** What {@link buildSdp} takes on top of the description. */
export interface BuildSdpOptions {
  /** `o=` session id; defaults to a random decimal. */
  readonly sessionId?: string;
  /** `o=` session version; defaults to 1. */
  readonly sessionVersion?: number;
  /** `o=` user name; defaults to `-`. */
  readonly username?: string;
  /** `s=` line; defaults to `xpp`. */
  readonly sessionName?: string;
}

/** A parsed description plus what was tolerated but ignored. */
export interface ParsedXppDescription extends XppDescription {
  /** Lines that were read but not used (unsupported candidates, unknown transports); for logs and stats. */
  readonly ignoredLines: readonly string[];
}
