import { toHex } from '@xpp/wire';
import type { XppOption } from '@xpp/wire';
import { DhtError } from './errors.js';
import { ByteWriter } from './internal/bytes.js';
import { DhtOption } from './options.js';

/**
 * Who a routed request comes from (spec §5.6). Requests travel hop by hop, so the session that delivers one to
 * the owner is the last forwarder's, not the requester's: the requester signs an ORIGIN instead, and the owner
 * attributes the request (a binding's flow peer, a writer's bounds) to the peer it names. With membership the node's
 * authority signs with its identity key and certificate (`signOrigin` / `verifyOrigin`).
 */
export interface OriginAuthority {
  /** The ORIGIN of a request whose signed octets are `bytes` ({@link originBytes}). */
  sign(bytes: Uint8Array): Uint8Array;
  /** The peer id (hex) an ORIGIN names once it holds for `bytes`; throws `DhtError` when it does not. */
  verify(origin: Uint8Array, bytes: Uint8Array): string;
  /**
   * Whether `verify` proves anything: a node without membership takes the ORIGIN at its word, and then does not
   * insist on it (an older peer sends none).
   */
  readonly verified: boolean;
}

/**
 * Without membership: the ORIGIN is the requester's peer id, believed as given. It attributes writes for the
 * per-writer bounds and the binding's flow peer, but proves nothing — docs/security.md.
 */
export function unverifiedOrigin(peerId: Uint8Array): OriginAuthority {
  return {
    sign: () => peerId,
    verify: (origin) => toHex(origin),
    verified: false,
  };
}

/**
 * The octets an ORIGIN signs: the label `xpp-pcan origin v1`, the operation type (u16), then every option of the
 * request but ORIGIN itself, in order, each as u16 type ‖ u32 length ‖ value. Binding the whole request keeps an
 * ORIGIN from being moved to another request.
 */
export function originBytes(operation: number, options: readonly XppOption[]): Uint8Array {
  const w = new ByteWriter().bytes(LABEL).u16(operation, 'operation');
  for (const option of options) {
    if (option.type === DhtOption.ORIGIN.type) continue;
    w.u16(option.type, 'option type').u32(option.value.length, 'option length').bytes(option.value);
  }
  return w.finish();
}

const LABEL = new TextEncoder().encode('xpp-pcan origin v1');

/** The options of a request with its ORIGIN appended. */
export function withOrigin(
  authority: OriginAuthority,
  operation: number,
  options: readonly XppOption[],
): XppOption[] {
  const origin = authority.sign(originBytes(operation, options));
  return [...options, DhtOption.ORIGIN.option(origin, true)];
}

/**
 * The peer (hex) a routed request comes from, by its ORIGIN; undefined when it has none and `authority` does not
 * insist. A missing ORIGIN under a verifying authority is `FORBIDDEN`, as is one that does not hold.
 */
export function originOf(
  authority: OriginAuthority,
  operation: number,
  options: readonly XppOption[],
): string | undefined {
  const origin = DhtOption.ORIGIN.find(options);
  if (origin === undefined) {
    if (!authority.verified) return undefined;
    throw new DhtError('FORBIDDEN', 'a routed write must carry its ORIGIN');
  }
  try {
    return authority.verify(origin, originBytes(operation, options));
  } catch (cause) {
    throw new DhtError('FORBIDDEN', `the ORIGIN does not hold: ${(cause as Error).message}`, { cause });
  }
}
