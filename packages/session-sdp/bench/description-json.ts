import type { XppDescription } from '../src/index.js';

/** One-line JSON for a description (the key as base64url), to hand it between benchmark processes. */
export function descriptionToJson(d: XppDescription): string {
  return JSON.stringify({
    ...d,
    publicKey: d.publicKey === undefined ? undefined : Buffer.from(d.publicKey).toString('base64url'),
  });
}

export function descriptionFromJson(text: string): XppDescription {
  const raw = JSON.parse(text) as Omit<XppDescription, 'publicKey'> & { publicKey?: string };
  const { publicKey, ...rest } = raw;
  return publicKey === undefined
    ? rest
    : { ...rest, publicKey: new Uint8Array(Buffer.from(publicKey, 'base64url')) };
}
