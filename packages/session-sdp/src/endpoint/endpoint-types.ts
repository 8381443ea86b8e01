// The endpoint's public types: what it is built with, what it counts, and one side of a session being set up.
import type { ChannelOptions, Clock, OperationsOptions } from '@xpp/reliability';
import type { XppKeyPair } from '../crypto/keys.js';
import type { OpenFailure } from '../crypto/session-cipher.js';
import type { DropReason as TableDropReason } from '../demux/session-table.js';
import type { StunRefusal } from '../stun/responder.js';
import type { DatagramTransport } from '../transport/datagram-transport.js';
import type { XppDescription } from '../sdp/description.js';
import type { DatagramRelayLimits } from '../relay/datagram-relay.js';
import type { XppSession } from './xpp-session.js';

/**
 * Whether sessions are sealed (spec §7). `required` (default): offer a key and refuse a peer without one.
 * `preferred`: offer a key, fall back to plaintext with a peer that offers none. `off`: offer none, plaintext.
 * A plaintext session thus needs both sides to allow it.
 */
export type SecurityPolicy = 'required' | 'preferred' | 'off';

/** Why the endpoint dropped a datagram before any session saw it. */
export type EndpointDropReason =
  | 'malformed'
  | TableDropReason
  | OpenFailure
  /** Plaintext session: a fragment from a new address outside the expected sequence window. */
  | 'out-of-window'
  /** More early datagrams for a prepared ltag than are kept. */
  | 'early-overflow';

export interface XppEndpointOptions {
  /** Address to bind. Default `127.0.0.1`. */
  readonly address?: string;
  /** UDP port to bind. Default 0 (any). */
  readonly port?: number;
  /**
   * The datagram transport to use instead of binding a UDP socket: e.g. a `MemoryTransport` for simulations. The
   * endpoint owns it and closes it on `close()`.
   */
  readonly transport?: DatagramTransport;
  readonly clock?: Clock;
  /** Default `required`. */
  readonly security?: SecurityPolicy;
  /**
   * Where each prepared session's X25519 key pair comes from; called once per `XppEndpoint.prepare()`.
   * Default `generateXppKeyPair` (≈ 60 µs): a fresh key per session, so a key stolen later opens no past
   * session (forward secrecy, xpp-pcan §5.5). Inject one for test vectors only.
   */
  readonly keyPairs?: () => XppKeyPair;
  /** Sessions (and prepared ltags) at once. Default 4096. */
  readonly maxSessions?: number;
  /**
   * Host addresses to advertise as candidates. Default the bound address, or for a wildcard bind every non-internal
   * IPv4 address (`0.0.0.0`), and every non-internal, non-link-local IPv6 one too (`::`, dual stack).
   */
  readonly hostAddresses?: readonly string[];
  /**
   * Offer `a=xpp-ack:piggyback`, and let a session's responses and data carry its ACKs when the peer offered it
   * too (spec §5.2, profile v2); with any other peer, stand-alone ACKs as before. Default true; false offers
   * nothing and sends stand-alone ACKs to every peer (docs/decisions/session-sdp-piggyback-default.md).
   */
  readonly piggybackAcks?: boolean;
  /** Passed to every session's reliable channel (datagram size, windows, timers, keepalive). */
  readonly channel?: Omit<
    ChannelOptions,
    'localId' | 'remoteId' | 'port' | 'clock' | 'initialSeq' | 'peerInitialSeq' | 'piggybackAcks'
  >;
  /** Passed to every session's request/response layer. */
  readonly operations?: Omit<OperationsOptions, 'clock'>;
  /**
   * STUN Binding requests (RFC 8489) this endpoint answers on its socket per second, at most (a token bucket): how
   * a peer behind a NAT learns its server-reflexive address from its neighbours. Default
   * `DEFAULT_STUN_ANSWERS_PER_SECOND`; 0 answers none.
   */
  readonly stunAnswersPerSecond?: number;
  /** Bounds of the sessions this endpoint relays for others (`XppEndpoint.relay`). */
  readonly relay?: DatagramRelayLimits;
}

export interface EndpointStats {
  readonly datagramsReceived: number;
  readonly sessions: number;
  readonly prepared: number;
  readonly drops: Readonly<Record<EndpointDropReason, number>>;
  readonly rebinds: number;
  /** Sessions refused because the other side's `a=xpp-auth` did not hold (or was missing). */
  readonly authRefused: number;
  /** STUN Binding requests answered, and STUN messages left unanswered by reason. */
  readonly stun: { readonly answered: number; readonly refused: Readonly<Record<StunRefusal, number>> };
}

export interface OpenOptions {
  readonly signal?: AbortSignal;
  /**
   * Called with the session as soon as it exists, before it is open: register request handlers here, since the
   * peer may send its first request the moment its own side is open, which can be before this side's promise
   * settles.
   */
  readonly onSession?: (session: XppSession) => void;
}

/**
 * One local side's ltag, description and (once the peer's description is known) session. Offerer: put
 * `description` in the offer, then `open(answer)`. Answerer: put it in the answer, then `open(offer)` right away.
 * Both sides then SYN to every candidate of the other at once (spec §4).
 */
export interface PreparedSession {
  readonly ltag: number;
  /** This side's description, with the session's own X25519 public key (unless security is `off`). */
  readonly description: XppDescription;
  /** Opens the session with the peer's description; rejects with `SETUP_TIMEOUT` after 32 s, `INSECURE_PEER`, `ABORTED`. */
  open(remote: XppDescription, options?: OpenOptions): Promise<XppSession>;
  /** Gives the ltag back if the session was never opened. */
  cancel(): void;
}
