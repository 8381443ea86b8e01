/** Bounds of a stream transport (docs/decisions/session-sdp-stream-transports.md). */
export interface StreamLimits {
  /** Connections open at once, inbound and outbound; more are refused (closed at once, counted). */
  readonly maxConnections: number;
  /** Inbound connections from one IP address (clients behind one NAT share it); loopback addresses are exempt. */
  readonly maxConnectionsPerAddress: number;
  /** A connection with no octet either way for this long is closed (RFC 5626 clients ping well within it). */
  readonly idleTimeoutMs: number;
  /**
   * A message (and a TLS handshake) must complete within this once its first octet arrived: a slow-loris writer, or
   * a Content-Length larger than the body sent, is closed when it runs out.
   */
  readonly messageTimeoutMs: number;
  readonly maxHeaderOctets: number;
  readonly maxBodyOctets: number;
  /** Octets queued unsent on one connection (a reader that never reads); beyond it the connection is closed. */
  readonly maxQueuedOctets: number;
}

/**
 * Defaults. 16 384 connections hold ≈ 0.6 GiB at the ≈ 34 KB a bare `node:tls` server takes per idle connection
 * (the framer holds no buffer between messages); 256 per address leaves room for a NAT of phones; 300 s idle is
 * above RFC 5626's 95–120 s keepalive interval for streams; 10 s for a message is generous for any real client.
 */
export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  maxConnections: 16_384,
  maxConnectionsPerAddress: 256,
  idleTimeoutMs: 300_000,
  messageTimeoutMs: 10_000,
  maxHeaderOctets: 16_384,
  maxBodyOctets: 65_536,
  maxQueuedOctets: 1_048_576,
};

/** The limits set in `options` (undefined ones left to the defaults); RangeError for a negative or fractional one. */
export function definedLimits(options: Partial<StreamLimits>): Partial<StreamLimits> {
  const limits: Partial<Record<keyof StreamLimits, number>> = {};
  for (const name of Object.keys(DEFAULT_STREAM_LIMITS) as (keyof StreamLimits)[]) {
    const value = options[name];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer`);
    limits[name] = value;
  }
  return limits;
}
