import { SessionError } from '../errors.js';

const LTAG_VALUE = /^[ \t]*0[xX]([0-9a-fA-F]{1,4})[ \t]*$/;

/** `0xHHHH` with four upper-case hex digits: the form this package sends. */
export function formatLtag(ltag: number): string {
  checkLtag(ltag);
  return `0x${ltag.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Reads the value of an `a=ltag:` attribute as spec §4 allows it: hex after `0x`, any case, whitespace around it.
 * Returns undefined for anything else.
 */
export function parseLtagValue(value: string): number | undefined {
  const match = LTAG_VALUE.exec(value);
  return match?.[1] === undefined ? undefined : Number.parseInt(match[1], 16);
}

/** Throws `INVALID_ARGUMENT` unless `ltag` is a 16-bit unsigned integer. */
export function checkLtag(ltag: number): void {
  if (!Number.isInteger(ltag) || ltag < 0 || ltag > 0xffff) {
    throw new SessionError('INVALID_ARGUMENT', `ltag ${ltag} is not a 16-bit unsigned integer`);
  }
}
