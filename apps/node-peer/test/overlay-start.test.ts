import { describe, expect, it } from 'vitest';
import { overlayStart, sipAddressOf } from '../src/overlay-start.js';

const overlayId = '0123456789abcdef0123456789abcdef';
const base = { joinVia: undefined, newOverlay: false, dataDir: '/data', dimensions: 2 };
const neighbour = { id: 'ab'.repeat(16), zones: ['1'], uri: 'sip:abab@192.0.2.7:5062' };

describe('overlayStart (docs/decisions/node-peer-rejoin.md)', () => {
  it('founds only from a directory never in an overlay, or with --new-overlay', () => {
    expect(overlayStart({ ...base, state: undefined })).toEqual({ kind: 'found' });
    expect(
      overlayStart({
        ...base,
        newOverlay: true,
        state: { overlayId, zones: ['0'], neighbours: [neighbour] },
      }),
    ).toEqual({ kind: 'found' });
    expect(overlayStart({ ...base, joinVia: '192.0.2.1:5060', state: undefined })).toEqual({
      kind: 'join',
      via: ['192.0.2.1:5060'],
    });
  });

  it('resumes the zones it held, with its neighbours and version, whatever --via says', () => {
    const start = overlayStart({
      ...base,
      joinVia: '192.0.2.1:5060',
      state: { overlayId, zones: ['0'], version: 7, neighbours: [neighbour] },
    });
    expect(start.kind).toBe('resume');
    if (start.kind !== 'resume') return;
    expect(start.zones.map((z) => z.path)).toEqual(['0']);
    expect(start.version).toBe(7);
    expect(start.neighbours.map((n) => [n.id, n.uri, n.zones.map((z) => z.path)])).toEqual([
      [neighbour.id, neighbour.uri, ['1']],
    ]);
  });

  it('holding no zone (given up to a neighbour), rejoins as a candidate through --via and its neighbours', () => {
    const start = overlayStart({
      ...base,
      joinVia: '192.0.2.1:5060',
      state: { overlayId, zones: [], neighbours: [neighbour, { id: 'cd'.repeat(16), zones: ['00'] }] },
    });
    expect(start).toMatchObject({ kind: 'join', via: ['192.0.2.1:5060', '192.0.2.7:5062'] });
    if (start.kind === 'join') expect(Buffer.from(start.overlayId ?? []).toString('hex')).toBe(overlayId);
  });

  it('refuses OVERLAY_FORK only when it has nothing to rejoin through', () => {
    expect(() =>
      overlayStart({
        ...base,
        state: { overlayId, zones: [], neighbours: [{ id: 'cd'.repeat(16), zones: ['0'] }] },
      }),
    ).toThrow(expect.objectContaining({ code: 'OVERLAY_FORK' }) as Error);
  });

  it('reads host:port from a neighbour URI, IPv6 in brackets', () => {
    expect(sipAddressOf('sip:ab@[2001:db8::1]:5060')).toBe('[2001:db8::1]:5060');
    expect(sipAddressOf('sip:ab@192.0.2.7')).toBeUndefined();
  });
});
