import { decodeRevocation, RecordKind, revocationKey, verifyRevocation, type OverlayNode } from '@xpp/dht';
import { NodeError } from '../errors.js';
import { ADMIN_REVOCATIONS_PATH, ADMIN_TOKENS_PATH, type AdminRoute } from '../http-server.js';
import type { Logger } from '../logger.js';
import type { NodeKeys } from './setup.js';
import type { EnrollmentTokens } from './tokens.js';

/** Lifetime asked for a REVOCATION record, s (stores that keep revocations forever ignore it). */
export const REVOCATION_LIFETIME = 86_400;

/** A refusal the admin endpoint answers with its status (the HTTP server reads `status`). */
class AdminRefused extends NodeError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super('REFUSED', message);
  }
}

/**
 * The membership admin endpoints (each request already checked as signed by an administrator key, fresh and
 * taken once): `peer invite` registers a token here (only on a node holding `admin.key`, since that node issues
 * the certificates), `peer revoke` stores a revocation in the overlay.
 */
export function membershipRoutes(options: {
  node: OverlayNode;
  keys: NodeKeys;
  tokens: EnrollmentTokens | undefined;
  /** This node's SIP address, `host:port`, named in the invitation text. */
  sipAddress: () => string;
  logger: Logger;
}): Record<string, AdminRoute> {
  const { node, keys, tokens, logger } = options;
  return {
    [ADMIN_TOKENS_PATH]: (payload) => {
      if (tokens === undefined)
        throw new AdminRefused(
          409,
          'this node does not hold the administrator key (admin.key): run peer invite where it does',
        );
      let token: { id?: unknown; secret?: unknown; expiresAt?: unknown };
      try {
        token = JSON.parse(Buffer.from(payload).toString('utf8')) as typeof token;
      } catch {
        throw new AdminRefused(400, 'expected {"id","secret","expiresAt"}');
      }
      if (
        typeof token.id !== 'string' ||
        typeof token.secret !== 'string' ||
        typeof token.expiresAt !== 'number'
      )
        throw new AdminRefused(400, 'expected {"id","secret","expiresAt"}');
      tokens.add({ id: token.id, secret: token.secret, expiresAt: token.expiresAt });
      logger.info(
        { token: token.id, expiresAt: new Date(token.expiresAt).toISOString() },
        'enrollment token issued',
      );
      return Promise.resolve({ id: token.id, expiresAt: token.expiresAt, sip: options.sipAddress() });
    },
    [ADMIN_REVOCATIONS_PATH]: async (payload) => {
      let peer: string;
      try {
        const revocation = decodeRevocation(payload);
        verifyRevocation(revocation, keys.admins);
        peer = Buffer.from(revocation.peerId).toString('hex');
      } catch (cause) {
        throw new AdminRefused(
          403,
          `not a revocation signed by an administrator key: ${(cause as Error).message}`,
        );
      }
      await node.put(revocationKey(peer), RecordKind.REVOCATION, payload, REVOCATION_LIFETIME);
      logger.warn({ peer }, 'peer revoked');
      return { peer };
    },
  };
}
