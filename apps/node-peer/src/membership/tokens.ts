import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { EnrollmentBook, type EnrollmentToken, type IssuedEnrollmentToken } from '@xpp/dht';
import { NodeError } from '../errors.js';
import { MEMBERSHIP_FILES, writeFile } from './files.js';

/** Open tokens an administrator node keeps at most. */
export const MAX_ENROLLMENT_TOKENS = 1_000;

/** Why an enrollment was refused (logged and counted at the administrator node; the joiner sees one answer). */
export type EnrollmentRefusal = 'unknown-token' | 'expired-token' | 'bad-proof';

/**
 * The administrator node's open enrollment tokens (`EnrollmentBook` of `@xpp/dht`) kept in
 * `enrollment-tokens.json`, mode 0600 since it holds the HMAC keys. The file is written before a token is handed
 * out and before a certificate is answered, so a restart neither loses a token nor makes a used one good again.
 */
export class EnrollmentTokens {
  readonly #path: string;
  /** Unix ms. */
  readonly #now: () => number;
  readonly #book: EnrollmentBook;

  constructor(dataDir: string, now: () => number = Date.now) {
    this.#path = join(dataDir, MEMBERSHIP_FILES.enrollmentTokens);
    this.#now = now;
    this.#book = new EnrollmentBook(this.#read());
  }

  get size(): number {
    return this.#book.size;
  }

  /** A new one-time token valid for `days`; refused beyond {@link MAX_ENROLLMENT_TOKENS} open ones. */
  issue(days: number): EnrollmentToken {
    this.#book.prune(this.#nowS());
    if (this.#book.size >= MAX_ENROLLMENT_TOKENS)
      throw new NodeError('REFUSED', `at most ${MAX_ENROLLMENT_TOKENS} open enrollment tokens at once`);
    const token = this.#book.issue(days, this.#nowS());
    this.#write();
    return token;
  }

  /**
   * Uses the token up when `proof` (HMAC of its secret over label ‖ token id ‖ `publicKey`, compared in constant
   * time) holds; returns its secret (both sides derive the candidate's password from it), or why it was refused.
   * A wrong proof does not use the token up.
   */
  redeem(
    tokenId: string,
    publicKey: Uint8Array,
    proof: Uint8Array,
  ): { secret: Uint8Array; expiresAt: number } | { refused: EnrollmentRefusal } {
    const now = this.#nowS();
    const token = this.#book.entries().find((t) => t.id === tokenId);
    if (token === undefined) return { refused: 'unknown-token' };
    if (now > token.expiresAt) return { refused: 'expired-token' };
    try {
      this.#book.redeem({ tokenId, publicKey, proof }, now);
    } catch {
      return { refused: 'bad-proof' };
    }
    this.#write();
    return { secret: token.secret, expiresAt: token.expiresAt };
  }

  /**
   * Opens `tokenId` again after {@link redeem} used it up and the enrollment then failed here (the candidate's
   * credential could not be stored): a failure of this node must not cost the joiner its one-time token.
   */
  giveBack(tokenId: string, secret: Uint8Array, expiresAt: number): void {
    this.#book.restore({ id: tokenId, secret, expiresAt });
    this.#write();
  }

  #nowS(): number {
    return Math.floor(this.#now() / 1000);
  }

  #read(): IssuedEnrollmentToken[] {
    if (!existsSync(this.#path)) return [];
    try {
      const saved = JSON.parse(readFileSync(this.#path, 'utf8')) as unknown;
      if (!Array.isArray(saved)) throw new Error('not a JSON array');
      return saved.flatMap((t: { id?: unknown; secret?: unknown; expiresAt?: unknown }) =>
        typeof t.id === 'string' && typeof t.secret === 'string' && typeof t.expiresAt === 'number'
          ? [{ id: t.id, secret: new Uint8Array(Buffer.from(t.secret, 'hex')), expiresAt: t.expiresAt }]
          : [],
      );
    } catch (cause) {
      throw new NodeError('KEY_FILE', `${this.#path}: ${(cause as Error).message}`, { cause });
    }
  }

  /** Written to a temporary name then renamed: a crash leaves the old file or the new one, never half. */
  #write(): void {
    const temporary = `${this.#path}.tmp`;
    const open = this.#book
      .entries()
      .map((t) => ({ id: t.id, secret: Buffer.from(t.secret).toString('hex'), expiresAt: t.expiresAt }));
    writeFile(temporary, JSON.stringify(open), 0o600);
    try {
      renameSync(temporary, this.#path);
    } catch (cause) {
      throw new NodeError('KEY_FILE', `cannot write ${this.#path}: ${(cause as Error).message}`, { cause });
    }
  }
}
