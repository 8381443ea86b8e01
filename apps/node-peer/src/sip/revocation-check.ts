import { RecordKind, revocationKey, type OverlayNode } from '@xpp/dht';
import type { Clock } from '@xpp/reliability';

/** How long a peer found not revoked is believed so before its REVOCATION record is read again, ms. */
export const REVOCATION_CHECK_MS = 60_000;
const MAX_ENTRIES = 4_096;

/**
 * Whether a peer is known revoked: its `revoked:<id>` record (admin-signed, checked by the store that took it), read
 * at most once per {@link REVOCATION_CHECK_MS} and remembered for good once found; a failed read counts as not known
 * revoked (the certificate still had to hold). Bounded in peers remembered.
 */
export class RevocationCheck {
  readonly #node: OverlayNode;
  readonly #clock: Pick<Clock, 'now'>;
  /** Peer id → whether revoked, and when read (clock ms); Map order is least recently read first. */
  readonly #known = new Map<string, { revoked: boolean; at: number }>();

  constructor(node: OverlayNode, clock: Pick<Clock, 'now'>) {
    this.#node = node;
    this.#clock = clock;
  }

  async isRevoked(id: string): Promise<boolean> {
    const now = this.#clock.now();
    const known = this.#known.get(id);
    if (known !== undefined && (known.revoked || now - known.at < REVOCATION_CHECK_MS)) return known.revoked;
    let revoked: boolean;
    try {
      revoked = (await this.#node.get(revocationKey(id), RecordKind.REVOCATION)).length > 0;
    } catch {
      return false;
    }
    this.#known.delete(id);
    this.#known.set(id, { revoked, at: now });
    for (const oldest of this.#known.keys()) {
      if (this.#known.size <= MAX_ENTRIES) break;
      this.#known.delete(oldest);
    }
    return revoked;
  }
}
