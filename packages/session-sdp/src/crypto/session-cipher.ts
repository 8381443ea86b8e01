import { FRAGMENT_HEADER_SIZE } from '@xpp/wire';
import { SessionError } from '../errors.js';
import { aead } from './aead.js';
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
/** ChaCha20-Poly1305 (RFC 8439) nonce: 4 zero octets ‖ the 8-octet counter. */
const NONCE_SIZE = 12;

/** Why {@link SessionCipher.open} refused a payload. None of them changes any state. */
export type OpenFailure = 'TRUNCATED' | 'REPLAYED' | 'AUTH_FAILED';

export type OpenResult =
  | { readonly ok: true; readonly plaintext: Uint8Array; readonly counter: number }
  | { readonly ok: false; readonly reason: OpenFailure };

/** What {@link SessionCipher.openDatagram} gives: the opened datagram (header ‖ plaintext), or why not. */
export type OpenDatagramResult =
  | { readonly ok: true; readonly datagram: Uint8Array; readonly counter: number }
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
 *
 * The AEAD is libsodium's (`sodium-native`): one call per datagram with no per-call context to build, which is
 * what `node:crypto`'s `createCipheriv` costs (docs/decisions/session-sdp-aead-cost.md). {@link sealDatagram}
 * and {@link openDatagram} work on whole datagrams in caller-owned memory; {@link seal} and {@link open} keep the
 * payload-only form and allocate their result.
 */
export class SessionCipher {
  readonly stats: CipherStats = { sealed: 0, opened: 0, truncated: 0, replayed: 0, authFailed: 0 };
  readonly #sendKey: Uint8Array;
  readonly #receiveKey: Uint8Array;
  readonly #window: ReplayWindow;
  // One nonce per direction, rewritten per datagram: its first 4 octets stay zero (spec §7).
  readonly #sendNonce = new Uint8Array(NONCE_SIZE);
  readonly #receiveNonce = new Uint8Array(NONCE_SIZE);
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
    checkHeader(header);
    const out = new Uint8Array(SEAL_OVERHEAD + plaintext.length);
    this.#sealTo(header, plaintext, out);
    return out;
  }

  /**
   * Seals a whole datagram, header ‖ plaintext, into `out` as header ‖ counter ‖ ciphertext ‖ tag: `out` must be
   * exactly {@link SEAL_OVERHEAD} octets longer and must not overlap `datagram` (which is left unchanged, so it
   * can be retransmitted). Allocates no octets. Throws as {@link seal} does, and `INVALID_ARGUMENT` for an `out`
   * of another size.
   */
  sealDatagram(datagram: Uint8Array, out: Uint8Array): void {
    if (datagram.length < FRAGMENT_HEADER_SIZE) {
      throw new SessionError('INVALID_ARGUMENT', `datagram of ${datagram.length} octets has no header`);
    }
    if (out.length !== datagram.length + SEAL_OVERHEAD) {
      throw new SessionError(
        'INVALID_ARGUMENT',
        `output of ${out.length} octets, expected ${datagram.length + SEAL_OVERHEAD}`,
      );
    }
    const header = datagram.subarray(0, FRAGMENT_HEADER_SIZE);
    this.#sealTo(header, datagram.subarray(FRAGMENT_HEADER_SIZE), out.subarray(FRAGMENT_HEADER_SIZE));
    out.set(header, 0);
  }

  /**
   * Opens a sealed payload received under `header`. Checks the replay window first without changing it, then
   * authenticates, and only then records the counter: a failure leaves the cipher exactly as it was. `sealed` is
   * not changed; the plaintext is new memory.
   */
  open(header: Uint8Array, sealed: Uint8Array): OpenResult {
    if (header.length !== FRAGMENT_HEADER_SIZE) return this.#truncated();
    const length = sealed.length - SEAL_OVERHEAD;
    if (length < 0) return this.#truncated();
    const plaintext = new Uint8Array(length);
    const outcome = this.#openTo(header, sealed, plaintext);
    return typeof outcome === 'number'
      ? { ok: true, plaintext, counter: outcome }
      : { ok: false, reason: outcome };
  }

  /**
   * Opens a whole received datagram, header ‖ counter ‖ ciphertext ‖ tag, in place: on success the result is a
   * view of the same memory holding header ‖ plaintext. The cipher's state changes as in {@link open}; the
   * datagram's octets are not to be used after a failure (libsodium zeroes the plaintext region when the tag
   * does not verify). Allocates no octets.
   */
  openDatagram(datagram: Uint8Array): OpenDatagramResult {
    if (datagram.length < FRAGMENT_HEADER_SIZE + SEAL_OVERHEAD) {
      return this.#truncated();
    }
    const header = datagram.subarray(0, FRAGMENT_HEADER_SIZE);
    const sealed = datagram.subarray(FRAGMENT_HEADER_SIZE);
    const plaintext = sealed.subarray(COUNTER_SIZE, sealed.length - TAG_SIZE);
    const outcome = this.#openTo(header, sealed, plaintext);
    if (typeof outcome !== 'number') return { ok: false, reason: outcome };
    // The header moves up over the counter, which is no longer needed, so header ‖ plaintext is contiguous.
    datagram.copyWithin(COUNTER_SIZE, 0, FRAGMENT_HEADER_SIZE);
    return {
      ok: true,
      datagram: datagram.subarray(COUNTER_SIZE, datagram.length - TAG_SIZE),
      counter: outcome,
    };
  }

  /** counter ‖ ciphertext ‖ tag of `plaintext` into `out` (`SEAL_OVERHEAD` octets longer); header checked. */
  #sealTo(header: Uint8Array, plaintext: Uint8Array, out: Uint8Array): void {
    if (this.#next > MAX_COUNTER) throw new SessionError('COUNTER_EXHAUSTED', 'send counter exhausted');
    const counter = this.#next++;
    writeCounter(out, counter);
    const nonce = this.#sendNonce;
    nonce.set(out.subarray(0, COUNTER_SIZE), NONCE_SIZE - COUNTER_SIZE);
    const ciphertextEnd = COUNTER_SIZE + plaintext.length;
    aead.seal(
      out.subarray(COUNTER_SIZE, ciphertextEnd),
      out.subarray(ciphertextEnd),
      plaintext,
      header,
      nonce,
      this.#sendKey,
    );
    this.stats.sealed++;
  }

  /**
   * Replay check, then authentication and decryption of `sealed` (counter ‖ ciphertext ‖ tag) into `plaintext`
   * (which may be the ciphertext's own memory), then the window. Returns the counter or why it failed.
   */
  #openTo(header: Uint8Array, sealed: Uint8Array, plaintext: Uint8Array): number | OpenFailure {
    const high = readUint32(sealed, 0);
    const counter = high * 2 ** 32 + readUint32(sealed, 4);
    // Counters past 2^53 are never sent by this package; they could only be forged.
    if (high >= 2 ** 21) {
      this.stats.authFailed++;
      return 'AUTH_FAILED';
    }
    if (!this.#window.check(counter)) {
      this.stats.replayed++;
      return 'REPLAYED';
    }
    const nonce = this.#receiveNonce;
    nonce.set(sealed.subarray(0, COUNTER_SIZE), NONCE_SIZE - COUNTER_SIZE);
    const ciphertextEnd = sealed.length - TAG_SIZE;
    const authentic = aead.open(
      plaintext,
      sealed.subarray(COUNTER_SIZE, ciphertextEnd),
      sealed.subarray(ciphertextEnd),
      header,
      nonce,
      this.#receiveKey,
    );
    if (!authentic) {
      this.stats.authFailed++;
      return 'AUTH_FAILED';
    }
    this.#window.accept(counter);
    this.stats.opened++;
    return counter;
  }

  #truncated(): { readonly ok: false; readonly reason: 'TRUNCATED' } {
    this.stats.truncated++;
    return { ok: false, reason: 'TRUNCATED' };
  }
}

function checkHeader(header: Uint8Array): void {
  if (header.length !== FRAGMENT_HEADER_SIZE) {
    throw new SessionError(
      'INVALID_ARGUMENT',
      `header of ${header.length} octets, expected ${FRAGMENT_HEADER_SIZE}`,
    );
  }
}

function writeCounter(out: Uint8Array, counter: number): void {
  const high = Math.floor(counter / 2 ** 32);
  const low = counter >>> 0;
  out[0] = high >>> 24;
  out[1] = (high >>> 16) & 0xff;
  out[2] = (high >>> 8) & 0xff;
  out[3] = high & 0xff;
  out[4] = low >>> 24;
  out[5] = (low >>> 16) & 0xff;
  out[6] = (low >>> 8) & 0xff;
  out[7] = low & 0xff;
}

function readUint32(bytes: Uint8Array, at: number): number {
  return (
    (bytes[at] ?? 0) * 2 ** 24 +
    (((bytes[at + 1] ?? 0) << 16) | ((bytes[at + 2] ?? 0) << 8) | (bytes[at + 3] ?? 0))
  );
}
