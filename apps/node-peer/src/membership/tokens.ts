import { timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { enrollmentProof } from '@xpp/dht';
import { NodeError } from '../errors.js';
import { MEMBERSHIP_FILES, writeFile } from './files.js';

/** Tokens an administrator node keeps at most (issued and not yet forgotten). */
export const MAX_ENROLLMENT_TOKENS = 1_000;
/** How long a used or expired token is remembered, ms: long enough that the operator can see it was used. */
export const TOKEN_MEMORY_MS = 30 * 86_400_000;

/** One issued enrollment token as kept by the administrator node (secret included: it checks the proofs). */
export interface IssuedToken {
  /** Token id, hex. */
  readonly id: string;
  /** HMAC key, hex; never sent anywhere. */
  readonly secret: string;
  /** Unix ms after which the token is refused. */
  readonly expiresAt: number;
  /** Unix ms it was used at, and the peer id it certified. */
  usedAt?: number;
  peer?: string;
}

/** Why an enrollment was refused (logged and counted at the administrator node; the joiner sees one answer). */
export type EnrollmentRefusal = 'unknown-token' | 'used-token' | 'expired-token' | 'bad-proof';

/**
 * The administrator node's issued enrollment tokens, in `enrollment-tokens.json` (mode 0600: it holds the HMAC
 * keys). A token is consumed by its first valid proof and the file is written before the certificate is answered,
 * so a restart cannot make a used token good again.
 */
export class EnrollmentTokens {
  readonly #path: string;
  readonly #now: () => number;
  #tokens: IssuedToken[] = [];

  constructor(dataDir: string, now: () => number = Date.now) {
    this.#path = join(dataDir, MEMBERSHIP_FILES.enrollmentTokens);
    this.#now = now;
    this.#tokens = this.#read();
  }

  get size(): number {
    return this.#tokens.length;
  }

  /** Keeps a newly issued token; refuses beyond {@link MAX_ENROLLMENT_TOKENS} live ones. */
  add(token: IssuedToken): void {
    this.#prune();
    if (!/^([0-9a-f]{2})+$/.test(token.id) || !/^([0-9a-f]{2})+$/.test(token.secret))
      throw new NodeError('INVALID_CONFIG', 'token id and secret must be hex');
    if (this.#tokens.some((t) => t.id === token.id))
      throw new NodeError('INVALID_CONFIG', `token ${token.id} already issued`);
    if (this.#tokens.length >= MAX_ENROLLMENT_TOKENS)
      throw new NodeError('INVALID_CONFIG', `at most ${MAX_ENROLLMENT_TOKENS} enrollment tokens at once`);
    this.#tokens.push({ ...token });
    this.#write();
  }

  /**
   * Checks `proof` (HMAC of the token's secret over label ‖ token id ‖ `publicKey`) in constant time and, when it
   * holds, marks the token used for `peerIdHex`. Returns the token's secret (the caller derives what both sides
   * know from it) or why it was refused.
   */
  consume(
    tokenId: Uint8Array,
    publicKey: Uint8Array,
    proof: Uint8Array,
    peerIdHex: string,
  ): { secret: Uint8Array } | { refused: EnrollmentRefusal } {
    const id = Buffer.from(tokenId).toString('hex');
    const token = this.#tokens.find((t) => t.id === id);
    if (token === undefined) return { refused: 'unknown-token' };
    const secret = new Uint8Array(Buffer.from(token.secret, 'hex'));
    const expected = Buffer.from(enrollmentProof(secret, tokenId, publicKey));
    // The proof is checked before the token's state, so answers take the same path for a used or expired token.
    const good = expected.length === proof.length && timingSafeEqual(expected, Buffer.from(proof));
    if (token.usedAt !== undefined) return { refused: 'used-token' };
    if (this.#now() > token.expiresAt) return { refused: 'expired-token' };
    if (!good) return { refused: 'bad-proof' };
    token.usedAt = this.#now();
    token.peer = peerIdHex;
    this.#write();
    return { secret };
  }

  #prune(): void {
    const now = this.#now();
    this.#tokens = this.#tokens.filter((t) => Math.max(t.usedAt ?? 0, t.expiresAt) + TOKEN_MEMORY_MS > now);
  }

  #read(): IssuedToken[] {
    if (!existsSync(this.#path)) return [];
    try {
      const saved = JSON.parse(readFileSync(this.#path, 'utf8')) as unknown;
      if (!Array.isArray(saved)) throw new Error('not a JSON array');
      return saved.filter(
        (t): t is IssuedToken =>
          typeof t === 'object' &&
          t !== null &&
          typeof (t as IssuedToken).id === 'string' &&
          typeof (t as IssuedToken).secret === 'string' &&
          typeof (t as IssuedToken).expiresAt === 'number',
      );
    } catch (cause) {
      throw new NodeError('KEY_FILE', `${this.#path}: ${(cause as Error).message}`, { cause });
    }
  }

  /** Written to a temporary name then renamed: a crash leaves the old file or the new one, never half. */
  #write(): void {
    const temporary = `${this.#path}.tmp`;
    writeFile(temporary, JSON.stringify(this.#tokens), 0o600);
    try {
      renameSync(temporary, this.#path);
    } catch (cause) {
      throw new NodeError('KEY_FILE', `cannot write ${this.#path}: ${(cause as Error).message}`, { cause });
    }
  }
}
