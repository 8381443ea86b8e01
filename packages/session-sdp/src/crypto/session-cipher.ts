import { createCipheriv, createDecipheriv } from 'node:crypto';
import { FRAGMENT_HEADER_SIZE } from '@xpp/wire';
import { SessionError } from '../errors.js';
import { KEY_SIZE, type DirectionalKeys } from './keys.js';
import { DEFAULT_REPLAY_WINDOW, ReplayWindow } from './replay-window.js';

/** Octets of the explicit counter before the ciphertext. */
export const COUNTER_SIZE = 8;
/** Octets of the Poly1305 tag after the ciphertext. */
export const TAG_SIZE = 16;
/** Octets sealing adds to a payload. */
export const SEAL_OVERHEAD = COUNTER_SIZE + TAG_SIZE;
/** Last counter a sender uses; past it the session must end (`COUNTER_EXHAUSTED`). */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER;

/** Why {@link SessionCipher.open} refused a payload. None of them changes any state. */
export type OpenFailure = 'TRUNCATED' | 'REPLAYED' | 'AUTH_FAILED';

export type OpenResult =
  | { readonly ok: true; readonly plaintext: Uint8Array; readonly counter: number }
  | { readonly ok: false; readonly reason: OpenFailure };

/** Counters of a cipher, for session stats. */
export interface CipherStats {
  sealed: number;
  opened: number;
  truncated: number;
  replayed: number;
  authFailed: number;
}

/**
 * Spec §7 for one session: ChaCha20-Poly1305 with the 8-octet fragment header as associated data; the payload
 * on the wire is counter (8, big-endian) ‖ ciphertext ‖ tag (16). The nonce is 4 zero octets ‖ counter, unique
 * because each direction has its own key and the counter only grows.
 */
export class SessionCipher {
  readonly stats: CipherStats = { sealed: 0, opened: 0, truncated: 0, replayed: 0, authFailed: 0 };
  readonly #sendKey: Uint8Array;
  readonly #receiveKey: Uint8Array;
  readonly #window: ReplayWindow;
  #next = 0;

  constructor(keys: DirectionalKeys, options: { replayWindow?: number } = {}) {
    if (keys.send.length !== KEY_SIZE || keys.receive.length !== KEY_SIZE) {
      throw new SessionError('INVALID_ARGUMENT', 'ChaCha20-Poly1305 keys are 32 octets');
    }
    this.#sendKey = keys.send;
    this.#receiveKey = keys.receive;
    this.#window = new ReplayWindow(options.replayWindow ?? DEFAULT_REPLAY_WINDOW);
  }

  /** The counter the next {@link seal} uses. */
  get nextCounter(): number {
    return this.#next;
  }

  /**
   * Seals `plaintext` under `header` (the fragment's 8 octets, already final). Returns counter ‖ ciphertext ‖
   * tag. Throws `INVALID_ARGUMENT` for a header of another size, `COUNTER_EXHAUSTED` past {@link MAX_COUNTER}.
   */
  seal(header: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (header.length !== FRAGMENT_HEADER_SIZE) {
      throw new SessionError(
        'INVALID_ARGUMENT',
        `header of ${header.length} octets, expected ${FRAGMENT_HEADER_SIZE}`,
      );
    }
    if (this.#next > MAX_COUNTER) throw new SessionError('COUNTER_EXHAUSTED', 'send counter exhausted');
    const counter = this.#next++;
    const out = new Uint8Array(SEAL_OVERHEAD + plaintext.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, Math.floor(counter / 2 ** 32));
    view.setUint32(4, counter >>> 0);
    const cipher = createCipheriv('chacha20-poly1305', this.#sendKey, nonceOf(out), {
      authTagLength: TAG_SIZE,
    });
    cipher.setAAD(header, { plaintextLength: plaintext.length });
    const encrypted = cipher.update(plaintext);
    cipher.final();
    out.set(encrypted, COUNTER_SIZE);
    out.set(cipher.getAuthTag(), COUNTER_SIZE + plaintext.length);
    this.stats.sealed++;
    return out;
  }

  /**
   * Opens a sealed payload received under `header`. Checks the replay window first without changing it, then
   * authenticates, and only then records the counter: a failure leaves the cipher exactly as it was.
   */
  open(header: Uint8Array, sealed: Uint8Array): OpenResult {
    if (sealed.length < SEAL_OVERHEAD || header.length !== FRAGMENT_HEADER_SIZE) {
      this.stats.truncated++;
      return { ok: false, reason: 'TRUNCATED' };
    }
    const view = new DataView(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    const high = view.getUint32(0);
    const counter = high * 2 ** 32 + view.getUint32(4);
    // Counters past 2^53 are never sent by this package; they could only be forged.
    if (high >= 2 ** 21) {
      this.stats.authFailed++;
      return { ok: false, reason: 'AUTH_FAILED' };
    }
    if (!this.#window.check(counter)) {
      this.stats.replayed++;
      return { ok: false, reason: 'REPLAYED' };
    }
    const ciphertextEnd = sealed.length - TAG_SIZE;
    let plaintext: Buffer;
    try {
      const decipher = createDecipheriv('chacha20-poly1305', this.#receiveKey, nonceOf(sealed), {
        authTagLength: TAG_SIZE,
      });
      decipher.setAAD(header, { plaintextLength: ciphertextEnd - COUNTER_SIZE });
      decipher.setAuthTag(sealed.subarray(ciphertextEnd));
      plaintext = decipher.update(sealed.subarray(COUNTER_SIZE, ciphertextEnd));
      decipher.final();
    } catch {
      this.stats.authFailed++;
      return { ok: false, reason: 'AUTH_FAILED' };
    }
    this.#window.accept(counter);
    this.stats.opened++;
    return {
      ok: true,
      plaintext: new Uint8Array(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength),
      counter,
    };
  }
}

function nonceOf(sealed: Uint8Array): Uint8Array {
  const nonce = new Uint8Array(12);
  nonce.set(sealed.subarray(0, COUNTER_SIZE), 4);
  return nonce;
}
