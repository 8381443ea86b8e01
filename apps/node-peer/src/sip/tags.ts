import { randomPool } from './random-pool.js';

/** A fresh To tag for a response this node answers itself (RFC 3261 §8.2.6.2): 48 random bits. */
export function localTag(): string {
  return randomPool.hex(6);
}
