// The export walk's bookkeeping (docs/decisions/node-peer-users.md), unit: it covers the key space by the owners'
// own zones, reports what no owner answered, and ends within its request bound whatever owners claim.
import { Zone, zoneCodec, type Point } from '@xpp/can';
import type { XppOption } from '@xpp/wire';
import { describe, expect, it } from 'vitest';
import { DhtOption } from '../../src/options.js';
import { firstGap, SEALED, walkCredentials } from '../../src/node/credential-export-walk.js';

const D = 2;
const zones = zoneCodec(D);

/** An overlay of owners by zone path: each answers its zones, one empty page, and optionally more pages. */
function overlay(paths: readonly string[], options: { lie?: string; down?: string; pages?: number } = {}) {
  const asked: string[] = [];
  const originate = async (target: Point, inner: readonly XppOption[]): Promise<XppOption[]> => {
    const owner = paths.find((p) => Zone.fromPath(D, p).contains(target)) as string;
    asked.push(owner);
    if (owner === options.down) throw new Error('no answer');
    const page = Number(DhtOption.KEY.find(inner) ?? '0');
    const answered = owner === options.lie ? (paths.find((p) => p !== owner) as string) : owner;
    return [
      DhtOption.ZONE.option(zones.encode(Zone.fromPath(D, answered)), true),
      SEALED.option(new Uint8Array([page]), true),
      ...(page + 1 < (options.pages ?? 1) ? [DhtOption.KEY.option(String(page + 1), true)] : []),
    ];
  };
  return { originate, asked };
}

describe('credential export walk', () => {
  it('firstGap finds the first part of the space no path covers', () => {
    expect(firstGap([])).toBe('');
    expect(firstGap(['0'])).toBe('1');
    expect(firstGap(['0', '10'])).toBe('11');
    expect(firstGap(['0', '11', '10'])).toBeUndefined();
    expect(firstGap([''])).toBeUndefined();
  });

  it('asks each owner once, follows its pages, and is complete when the zones tile the space', async () => {
    const o = overlay(['00', '01', '1'], { pages: 3 });
    const result = await walkCredentials(o.originate, D, new Uint8Array(1));
    expect(result).toMatchObject({ owners: 3, requests: 9, missed: [] });
    expect(result.pages).toHaveLength(9);
    expect(new Set(o.asked)).toEqual(new Set(['00', '01', '1']));
  });

  it('an owner that does not answer, or answers zones without the point asked, leaves its part missed', async () => {
    const down = await walkCredentials(
      overlay(['00', '01', '1'], { down: '01' }).originate,
      D,
      new Uint8Array(1),
    );
    expect(down.owners).toBe(2);
    // What is missed lies in the silent owner's zone only, and with the answers it covers the space.
    expect(down.missed.length).toBeGreaterThan(0);
    for (const path of down.missed) expect(path.startsWith('01')).toBe(true);
    expect(firstGap(['00', '1', ...down.missed])).toBeUndefined();
    expect(down.requests).toBeLessThanOrEqual(2 + 2 ** 4 - 1);
    const lying = await walkCredentials(
      overlay(['00', '01', '1'], { lie: '1' }).originate,
      D,
      new Uint8Array(1),
    );
    expect(lying.missed.length).toBeGreaterThan(0);
    for (const path of lying.missed) expect(path.startsWith('1')).toBe(true);
  });

  it('ends at its request bound, reporting the rest as missed', async () => {
    const result = await walkCredentials(
      overlay(['00', '01', '1'], { pages: 5 }).originate,
      D,
      new Uint8Array(1),
      7,
    );
    expect(result.requests).toBe(7);
    expect(result.missed.length).toBeGreaterThan(0);
  });
});
