import { decodeRevocation, RecordKind, revocationKey, verifyRevocation, type OverlayNode } from '@xpp/dht';
import { NodeError } from '../errors.js';
import { ADMIN_REVOCATIONS_PATH, ADMIN_TOKENS_PATH, type AdminRoute } from '../http-server.js';
import type { Logger } from '../logger.js';
import { formatInvitation } from './enrollment-codec.js';
import type { NodeKeys } from './setup.js';
import type { EnrollmentTokens } from './tokens.js';

/** Lifetime asked for a REVOCATION record, s (stores that keep revocations forever ignore it). */
export const REVOCATION_LIFETIME = 86_400;

/** A refusal the admin endpoint answers with its status (the HTTP server reads `status`). */
export class AdminRefused extends NodeError {
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
      let request: { days?: unknown };
      try {
        request = JSON.parse(Buffer.from(payload).toString('utf8')) as typeof request;
      } catch {
        throw new AdminRefused(400, 'expected {"days"}');
      }
      const days = request.days;
      if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > 365)
        throw new AdminRefused(400, 'expected {"days"}: a whole number of days from 1 to 365');
      const token = tokens.issue(days);
      logger.info(
        { token: token.id, expiresAt: new Date(token.expiresAt * 1000).toISOString() },
        'enrollment token issued',
      );
      // The token goes back to the operator's command over the local connection; the node keeps it to check proofs.
      return Promise.resolve({
        text: formatInvitation(token.text, options.sipAddress()),
        expiresAt: token.expiresAt * 1000,
      });
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
