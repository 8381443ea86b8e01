import { WireError, type ValueCodec } from '@xpp/wire';
import { CanError } from './errors.js';
import { checkDimensions, checkPoint, maxZoneDepth, type Point } from './space.js';
import { Zone } from './zone.js';

/**
 * Option values for points and zones (decision `can-encodings`). A point is d big-endian u32 (4·d octets). A zone
 * is its depth (u8) then its split path in ⌈depth/8⌉ octets, most significant bit first, the unused low bits
 * zero — one encoding per zone, so zones compare by their octets. Decoders take untrusted octets and throw only
 * `WireError` (`LENGTH_MISMATCH`, `TRUNCATED`, `BAD_VALUE`); encoders throw `WireError('INVALID_FIELD')`.
 */
const pointCodecs = new Map<number, ValueCodec<Point>>();
const zoneCodecs = new Map<number, ValueCodec<Zone>>();

/** The codec of points of a d-dimensional space. */
export function pointCodec(d: number): ValueCodec<Point> {
  checkDimensions(d);
  let codec = pointCodecs.get(d);
  if (codec === undefined) {
    codec = {
      encode(point) {
        asWireError('INVALID_FIELD', () => checkPoint(point, d));
        const out = new Uint8Array(4 * d);
        const view = new DataView(out.buffer);
        for (let i = 0; i < d; i++) view.setUint32(4 * i, point[i] as number);
        return out;
      },
      decode(bytes) {
        if (bytes.length !== 4 * d) {
          throw new WireError(
            'LENGTH_MISMATCH',
            `a ${d}-dimensional point is ${4 * d} octets, got ${bytes.length}`,
          );
        }
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const point = new Array<number>(d);
        for (let i = 0; i < d; i++) point[i] = view.getUint32(4 * i);
        return point;
      },
    };
    pointCodecs.set(d, codec);
  }
  return codec;
}

/** The codec of zones of a d-dimensional space. */
export function zoneCodec(d: number): ValueCodec<Zone> {
  checkDimensions(d);
  let codec = zoneCodecs.get(d);
  if (codec === undefined) {
    const maxDepth = maxZoneDepth(d);
    codec = {
      encode(zone) {
        if (!(zone instanceof Zone) || zone.dimensions !== d) {
          throw new WireError('INVALID_FIELD', `not a zone of a ${d}-dimensional space`);
        }
        const bits = zone.toBits();
        const out = new Uint8Array(1 + bits.length);
        out[0] = zone.depth;
        out.set(bits, 1);
        return out;
      },
      decode(bytes) {
        if (bytes.length === 0) throw new WireError('TRUNCATED', 'a zone needs at least its depth octet');
        const depth = bytes[0] as number;
        if (depth > maxDepth) {
          throw new WireError(
            'BAD_VALUE',
            `a zone of a ${d}-dimensional space is at most ${maxDepth} deep, got ${depth}`,
          );
        }
        const size = 1 + Math.ceil(depth / 8);
        if (bytes.length !== size) {
          throw new WireError(
            'LENGTH_MISMATCH',
            `a zone of depth ${depth} is ${size} octets, got ${bytes.length}`,
          );
        }
        const unused = (8 - (depth % 8)) % 8;
        if (unused !== 0 && ((bytes[size - 1] as number) & ((1 << unused) - 1)) !== 0) {
          throw new WireError('BAD_VALUE', 'the unused bits after a zone path must be zero');
        }
        return asWireError('BAD_VALUE', () => Zone.fromBits(d, depth, bytes.subarray(1)));
      },
    };
    zoneCodecs.set(d, codec);
  }
  return codec;
}

function asWireError<T>(code: 'INVALID_FIELD' | 'BAD_VALUE', run: () => T): T {
  try {
    return run();
  } catch (cause) {
    if (CanError.is(cause)) throw new WireError(code, cause.message, { cause });
    throw cause;
  }
}
