import { randomBytes } from 'node:crypto';

/** A fresh To tag for a response this node answers itself (RFC 3261 §8.2.6.2). */
export function localTag(): string {
  return randomBytes(6).toString('hex');
}
