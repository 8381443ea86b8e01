import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import {
  decodeCredentialRecord,
  DhtError,
  RecordKind,
  verifyCredential,
  verifyCredentialRemoval,
  type AdminKeySet,
  type CredentialRemoval,
  type OverlayNode,
  type SignedCredential,
} from '@xpp/dht';
import { DATA_FILES } from './data-dir.js';
import { NodeError } from './errors.js';

/** Credentials one node keeps republishing (README: "Bounds"). */
export const MAX_KEPT_CREDENTIALS = 10_000;
/** Lifetime asked for a CREDENTIAL record, s: a store's default ceiling (1 day). */
export const CREDENTIAL_LIFETIME = 86_400;

/**
 * The credentials an administrator stored through this node, kept in its data directory and stored again at each
 * start (the newest serial per AOR wins). Holders keep a CREDENTIAL until a signed record replaces it (spec §4,
 * §5.6), so there is no periodic republishing any more; the copy here brings users back after every holder of
 * them was lost (a whole-overlay restart while records live in memory).
 */
export class CredentialKeeper {
  readonly #path: string;
  /** Every accepted administrator key: a credential signed by a rotated-in key is kept too. */
  readonly #adminPublicKey: KeyObject | AdminKeySet;
  /** AOR → hex value of its newest signed credential. */
  readonly #kept = new Map<string, { serial: number; value: string }>();
  #saving: Promise<void> | undefined;
  #dirty = false;

  constructor(dataDir: string, adminPublicKey: KeyObject | AdminKeySet) {
    this.#path = join(dataDir, DATA_FILES.credentials);
    this.#adminPublicKey = adminPublicKey;
    if (!existsSync(this.#path)) return;
    let saved: unknown;
    try {
      saved = JSON.parse(readFileSync(this.#path, 'utf8'));
    } catch (cause) {
      throw new NodeError('KEY_FILE', `${this.#path} is not JSON: ${(cause as Error).message}`, { cause });
    }
    if (!Array.isArray(saved)) throw new NodeError('KEY_FILE', `${this.#path} must hold a JSON array`);
    for (const hex of saved.slice(0, MAX_KEPT_CREDENTIALS)) {
      if (typeof hex !== 'string') continue;
      try {
        this.#keep(verifyCredential(new Uint8Array(Buffer.from(hex, 'hex')), adminPublicKey), hex);
      } catch {
        // A credential signed by another administrator key (the key was replaced): no longer ours to publish.
      }
    }
  }

  get size(): number {
    return this.#kept.size;
  }

  /**
   * Checks `value` (a CREDENTIAL record value: administrator signature), stores it in the overlay and keeps it.
   * Throws `DhtError` (`INVALID_VALUE`, `BAD_SIGNATURE`, or what the owner answered) or `NodeError`.
   */
  async add(node: OverlayNode, value: Uint8Array): Promise<SignedCredential> {
    const credential = verifyCredential(value, this.#adminPublicKey);
    const known = this.#kept.get(credential.aor);
    if (known === undefined && this.#kept.size >= MAX_KEPT_CREDENTIALS) {
      throw new NodeError('INVALID_CONFIG', `this node keeps at most ${MAX_KEPT_CREDENTIALS} credentials`);
    }
    await node.put(credential.aor, RecordKind.CREDENTIAL, value, CREDENTIAL_LIFETIME);
    this.#keep(credential, Buffer.from(value).toString('hex'));
    await this.#save();
    return credential;
  }

  /**
   * Checks `value` (an administrator-signed removal), stores it in the overlay in place of the credential, and
   * stops republishing the AOR. Throws `DhtError` (`BAD_SIGNATURE`, `CREDENTIAL_REFUSED`, or what the owner
   * answered: `STALE_SERIAL` when a newer credential is there).
   */
  async remove(node: OverlayNode, value: Uint8Array): Promise<CredentialRemoval> {
    const decoded = decodeCredentialRecord(value);
    if (decoded.type !== 'removal')
      throw new DhtError('INVALID_VALUE', 'expected a credential removal (xpp-node user remove)');
    const removal = verifyCredentialRemoval(decoded.removal, this.#adminPublicKey);
    await node.put(removal.aor, RecordKind.CREDENTIAL, value, CREDENTIAL_LIFETIME);
    const known = this.#kept.get(removal.aor);
    if (known !== undefined && known.serial < removal.serial) {
      this.#kept.delete(removal.aor);
      await this.#save();
    }
    return removal;
  }

  /** Stores every kept credential again; resolves with how many the overlay accepted. */
  async republish(node: OverlayNode): Promise<number> {
    const results = await Promise.allSettled(
      [...this.#kept].map(([aor, { value }]) =>
        node.put(aor, RecordKind.CREDENTIAL, Buffer.from(value, 'hex'), CREDENTIAL_LIFETIME),
      ),
    );
    return results.filter((r) => r.status === 'fulfilled').length;
  }

  #keep(credential: SignedCredential, value: string): void {
    const known = this.#kept.get(credential.aor);
    if (known === undefined || known.serial <= credential.serial) {
      this.#kept.set(credential.aor, { serial: credential.serial, value });
    }
  }

  /**
   * Writes the file (to a temporary name, then renamed, so a crash never leaves half a file). Saves requested while
   * one is being written share the next write: a burst of additions costs two writes, not one each.
   */
  #save(): Promise<void> {
    this.#dirty = true;
    this.#saving ??= (async () => {
      try {
        while (this.#dirty) {
          this.#dirty = false;
          const temporary = `${this.#path}.tmp`;
          const text = JSON.stringify([...this.#kept.values()].map((k) => k.value));
          await writeFile(temporary, text, { mode: 0o600 });
          await rename(temporary, this.#path);
        }
      } catch (cause) {
        throw new NodeError('KEY_FILE', `cannot write ${this.#path}: ${(cause as Error).message}`, { cause });
      } finally {
        this.#saving = undefined;
      }
    })();
    return this.#saving;
  }
}
