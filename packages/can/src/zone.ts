import { CanError } from './errors.js';
import {
  COORDINATE_RANGE,
  DEFAULT_DIMENSIONS,
  checkDimensions,
  checkPoint,
  maxZoneDepth,
  type Point,
} from './space.js';

const SPLIT_PATH = /^[01]*$/;

/**
 * A zone of the key space, named by its split path (spec §2): the whole space is halved along dimension 0, each
 * half along dimension 1, …, cycling; bit i of the path is 1 for the upper half of split i. Immutable; its bounds
 * are computed once, at construction, because routing reads them on every hop.
 */
export class Zone {
  /** d, the dimension count of the space this zone belongs to. */
  readonly dimensions: number;
  /** How many splits made this zone (0 for the whole space). */
  readonly depth: number;
  /** The split path as text, one `0` or `1` per split: `''` is the whole space. */
  readonly path: string;
  /**
   * The bounds, per dimension i: the lowest coordinate inside at `2i`, how many coordinates the zone spans at
   * `2i + 1` (a power of two from 1 to 2^32, a whole dimension). One typed array is what the routing and
   * neighbour loops read, monomorphic and cache-friendly. Treat as read-only; `low` and `span` are copies.
   */
  readonly box: Float64Array;

  private constructor(dimensions: number, path: string, box: Float64Array) {
    this.dimensions = dimensions;
    this.depth = path.length;
    this.path = path;
    this.box = box;
  }

  /** The whole space of `d` dimensions: what the first peer of an overlay owns. */
  static root(d: number = DEFAULT_DIMENSIONS): Zone {
    checkDimensions(d);
    const box = new Float64Array(2 * d);
    for (let i = 0; i < d; i++) box[2 * i + 1] = COORDINATE_RANGE;
    return new Zone(d, '', box);
  }

  /** Per dimension, the lowest coordinate inside the zone. */
  get low(): readonly number[] {
    return Array.from({ length: this.dimensions }, (_, i) => this.box[2 * i] as number);
  }

  /** Per dimension, how many coordinates the zone spans: a power of two from 1 to 2^32 (a whole dimension). */
  get span(): readonly number[] {
    return Array.from({ length: this.dimensions }, (_, i) => this.box[2 * i + 1] as number);
  }

  /** The zone of split path `path` (text of `0`/`1`); `INVALID_ZONE` when it is not one or is too deep. */
  static fromPath(d: number, path: string): Zone {
    checkDimensions(d);
    if (typeof path !== 'string' || !SPLIT_PATH.test(path)) {
      throw new CanError('INVALID_ZONE', 'a split path is a string of 0 and 1');
    }
    if (path.length > maxZoneDepth(d)) {
      throw new CanError(
        'INVALID_ZONE',
        `a zone of a ${d}-dimensional space is at most ${maxZoneDepth(d)} splits deep, got ${path.length}`,
      );
    }
    let zone = Zone.root(d);
    for (const bit of path) zone = zone.child(bit === '1' ? 1 : 0);
    return zone;
  }

  /**
   * The zone of `depth` splits whose path is the first `depth` bits of `bits`, most significant bit of octet 0
   * first. `INVALID_ZONE` when `bits` is too short.
   */
  static fromBits(d: number, depth: number, bits: Uint8Array): Zone {
    if (!Number.isInteger(depth) || depth < 0 || bits.length * 8 < depth) {
      throw new CanError(
        'INVALID_ZONE',
        `${bits.length} octets cannot hold a split path of ${String(depth)} bits`,
      );
    }
    let path = '';
    for (let i = 0; i < depth; i++) path += bitAt(bits, i) === 1 ? '1' : '0';
    return Zone.fromPath(d, path);
  }

  /** The dimension the next split of this zone halves. */
  get splitDimension(): number {
    return this.depth % this.dimensions;
  }

  /** The dimension the last split of this zone halved; `NOT_SIBLINGS` for the whole space. */
  get lastSplitDimension(): number {
    this.requireSplit('has no last split');
    return (this.depth - 1) % this.dimensions;
  }

  /** The fraction of the space this zone covers: exactly 2^-depth. */
  get volume(): number {
    return 2 ** -this.depth;
  }

  /** Whether another split is possible (each coordinate halves at most 32 times; depth fits an octet). */
  get canSplit(): boolean {
    return this.depth < maxZoneDepth(this.dimensions);
  }

  /** Bit `i` of the split path. */
  bit(i: number): 0 | 1 {
    return this.path[i] === '1' ? 1 : 0;
  }

  /** The split path packed into ⌈depth/8⌉ octets, most significant bit first, unused low bits zero. */
  toBits(): Uint8Array {
    const out = new Uint8Array(Math.ceil(this.depth / 8));
    for (let i = 0; i < this.depth; i++) {
      if (this.path[i] === '1') out[i >>> 3] = (out[i >>> 3] as number) | (0x80 >>> (i & 7));
    }
    return out;
  }

  /**
   * The two halves of this zone along its split dimension: `[lower, upper]`. On a join the inviting peer keeps
   * the lower half and the newcomer takes the upper (spec §3). `ZONE_TOO_DEEP` when no split is left.
   */
  split(): readonly [lower: Zone, upper: Zone] {
    if (!this.canSplit) {
      throw new CanError(
        'ZONE_TOO_DEEP',
        `zone ${this.path} is already ${this.depth} splits deep, the most a ${this.dimensions}-dimensional space allows`,
      );
    }
    return [this.child(0), this.child(1)];
  }

  /** The zone this one was split from. */
  parent(): Zone {
    this.requireSplit('has no parent');
    const at = 2 * this.lastSplitDimension;
    const box = this.box.slice();
    if (this.bit(this.depth - 1) === 1) box[at] = (box[at] as number) - (box[at + 1] as number);
    box[at + 1] = (box[at + 1] as number) * 2;
    return new Zone(this.dimensions, this.path.slice(0, -1), box);
  }

  /** The other half of this zone's parent: the zone that differs in the last split bit. */
  sibling(): Zone {
    this.requireSplit('has no sibling');
    const at = 2 * this.lastSplitDimension;
    const box = this.box.slice();
    const upper = this.bit(this.depth - 1) === 1;
    box[at] = (box[at] as number) + (upper ? -1 : 1) * (box[at + 1] as number);
    return new Zone(this.dimensions, this.path.slice(0, -1) + (upper ? '0' : '1'), box);
  }

  /** Whether `other` is this zone's sibling, so that the two merge into their parent. */
  isSiblingOf(other: Zone): boolean {
    return (
      other.dimensions === this.dimensions &&
      this.depth > 0 &&
      other.depth === this.depth &&
      other.path.slice(0, -1) === this.path.slice(0, -1) &&
      other.path !== this.path
    );
  }

  /** The parent of this zone and its sibling; `NOT_SIBLINGS` when `other` is not the sibling. */
  mergeWith(other: Zone): Zone {
    if (!this.isSiblingOf(other)) {
      throw new CanError('NOT_SIBLINGS', `zones ${this.path} and ${other.path} are not siblings`);
    }
    return this.parent();
  }

  /** Whether `point` lies in this zone. */
  contains(point: Point): boolean {
    checkPoint(point, this.dimensions);
    for (let i = 0; i < this.dimensions; i++) {
      const offset = (point[i] as number) - (this.box[2 * i] as number);
      if (offset < 0 || offset >= (this.box[2 * i + 1] as number)) return false;
    }
    return true;
  }

  /** Whether `other` lies inside this zone (the same zone or one split from it). */
  covers(other: Zone): boolean {
    return other.dimensions === this.dimensions && other.path.startsWith(this.path);
  }

  /** Whether the two zones share any point: one of them covers the other. */
  overlaps(other: Zone): boolean {
    return this.covers(other) || other.covers(this);
  }

  equals(other: Zone): boolean {
    return other.dimensions === this.dimensions && other.path === this.path;
  }

  /** The point at the middle of the zone (rounded down), e.g. to draw it. */
  center(): Point {
    const span = this.span;
    return this.low.map((low, i) => low + Math.floor((span[i] as number) / 2));
  }

  toString(): string {
    return `Zone(d=${this.dimensions}, path=${this.path === '' ? '∅' : this.path})`;
  }

  private child(bit: 0 | 1): Zone {
    const at = 2 * this.splitDimension;
    const box = this.box.slice();
    const half = (box[at + 1] as number) / 2;
    box[at + 1] = half;
    if (bit === 1) box[at] = (box[at] as number) + half;
    return new Zone(this.dimensions, this.path + (bit === 1 ? '1' : '0'), box);
  }

  private requireSplit(what: string): void {
    if (this.depth === 0) throw new CanError('NOT_SIBLINGS', `the whole space ${what}`);
  }
}

function bitAt(bytes: Uint8Array, i: number): 0 | 1 {
  return (((bytes[i >>> 3] as number) >>> (7 - (i & 7))) & 1) as 0 | 1;
}
