import { DEFAULT_DATAGRAM_SIZE, MAX_DATAGRAM_SIZE, MIN_DATAGRAM_SIZE } from '@xpp/wire';
import { FragmentError } from '../errors.js';

/** Throws `INVALID_OPTION` unless `value` is an integer in [min, max]; returns it. */
export function checkRange(value: number, min: number, max: number, name: string): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new FragmentError(
      'INVALID_OPTION',
      `${name} must be an integer in ${min}..${max}, got ${String(value)}`,
    );
  }
  return value;
}

/** The endpoint's maximum datagram size: {@link DEFAULT_DATAGRAM_SIZE} unless set, within 576..65507. */
export function maxDatagramSizeOption(value: number | undefined): number {
  return checkRange(value ?? DEFAULT_DATAGRAM_SIZE, MIN_DATAGRAM_SIZE, MAX_DATAGRAM_SIZE, 'maxDatagramSize');
}
