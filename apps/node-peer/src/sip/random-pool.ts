import { randomFillSync } from 'node:crypto';

/** Octets drawn from the system's random source at once by a {@link RandomPool}. */
export const RANDOM_POOL_OCTETS = 4_096;

/**
 * Random octets handed out from a buffer refilled by one `randomFillSync` call when used up: a registrar draws
 * a To tag and a nonce salt for every REGISTER, and one system call per few hundred of them costs far less than
 * one each. The octets are as random as `randomBytes` gives; only the calls are batched.
 */
export class RandomPool {
  readonly #pool = Buffer.alloc(RANDOM_POOL_OCTETS);
  #at = RANDOM_POOL_OCTETS;

  /** Copies `length` (≤ {@link RANDOM_POOL_OCTETS}) fresh random octets into `target` at `offset`. */
  fill(target: Uint8Array, offset: number, length: number): void {
    if (this.#at + length > RANDOM_POOL_OCTETS) {
      randomFillSync(this.#pool);
      this.#at = 0;
    }
    this.#pool.copy(target, offset, this.#at, (this.#at += length));
  }

  /** `length` fresh random octets as lower-case hex. */
  hex(length: number): string {
    if (this.#at + length > RANDOM_POOL_OCTETS) {
      randomFillSync(this.#pool);
      this.#at = 0;
    }
    return this.#pool.toString('hex', this.#at, (this.#at += length));
  }
}

/** The process's pool (tags, nonce salts). */
export const randomPool = new RandomPool();
