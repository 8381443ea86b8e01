import { EventEmitter } from 'node:events';
import type { TransportAddress } from '@xpp/session-sdp';

/** The events of a {@link SipFront}. */
export interface SipFrontEvents {
  /** A binding was stored in the overlay after a successful REGISTER (also on each refresh). */
  registered: (event: { aor: string; contact: string; expires: number; source: TransportAddress }) => void;
  /** A binding went: `Expires: 0`, `*`, or its flow died (no refresh before expiry). */
  unregistered: (event: { aor: string; contact: string; reason: 'client' | 'flow-expired' }) => void;
  /**
   * A client's RFC 5626 flow died (`closed`: its connection closed; `silent`: no keepalive within its Flow-Timer):
   * requests for its binding get 430 until it registers again.
   */
  'flow-failed': (event: { aor: string; contact: string; reason: 'closed' | 'silent' }) => void;
  /** A registered client was invited to become a peer (spec §7); `error` when the invitation failed. */
  invited: (event: { contact: string; peerId?: string; error?: Error }) => void;
  /** A request for an AOR was proxied: `status` is the final status relayed back (or answered here). */
  call: (event: { method: string; aor: string; status: number; to?: TransportAddress }) => void;
}

/** A small typed wrapper over Node's emitter: a listener's exception stops that emit and is reported to the owner. */
export class TypedEvents<Events extends { [K in keyof Events]: (event: never) => void }> {
  readonly #emitter = new EventEmitter();

  on<K extends keyof Events & string>(event: K, listener: Events[K]): () => void {
    this.#emitter.on(event, listener as unknown as (...args: unknown[]) => void);
    return () => this.#emitter.off(event, listener as unknown as (...args: unknown[]) => void);
  }

  /** Calls every listener; returns false when one threw (the caller counts it, the front keeps serving). */
  emit<K extends keyof Events & string>(event: K, payload: Parameters<Events[K]>[0]): boolean {
    try {
      this.#emitter.emit(event, payload);
      return true;
    } catch {
      return false;
    }
  }

  removeAll(): void {
    this.#emitter.removeAllListeners();
  }
}
