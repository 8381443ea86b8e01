/** Digest algorithms a credential holds a secret for (RFC 7616; MD5 only for old clients). */
export type DigestAlgorithm = 'SHA-256' | 'MD5';

/** node:crypto hash name of each algorithm. */
export const HASH_NAME: Readonly<Record<DigestAlgorithm, string>> = { 'SHA-256': 'sha256', MD5: 'md5' };
/** Octets of H(A1) for each algorithm. */
export const HA1_SIZE: Readonly<Record<DigestAlgorithm, number>> = { 'SHA-256': 32, MD5: 16 };
