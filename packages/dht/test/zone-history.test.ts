import { Zone } from '@xpp/can';
import { describe, expect, it } from 'vitest';
import { ZoneHistory, tilingProblems } from '@xpp/dht/testing';

const zones = (...paths: string[]) => paths.map((p) => Zone.fromPath(2, p));

describe('tilingProblems: where zones fail to tile the space', () => {
  it('finds nothing in an exact tiling', () => {
    expect(
      tilingProblems(
        new Map([
          ['a', zones('0')],
          ['b', zones('10', '11')],
        ]),
      ),
    ).toEqual([]);
    expect(tilingProblems(new Map([['a', zones('')]]))).toEqual([]);
  });

  it('names a hole by its path', () => {
    expect(
      tilingProblems(
        new Map([
          ['a', zones('0')],
          ['b', zones('10')],
        ]),
      ),
    ).toEqual([{ kind: 'hole', path: '11', owners: [] }]);
    expect(tilingProblems(new Map())).toEqual([{ kind: 'hole', path: '', owners: [] }]);
  });

  it('names an overlap with its owners, whether the zones are equal or one lies inside the other', () => {
    expect(
      tilingProblems(
        new Map([
          ['a', zones('0', '1')],
          ['b', zones('1')],
        ]),
      ),
    ).toEqual([{ kind: 'overlap', path: '1', owners: ['a', 'b'] }]);
    expect(
      tilingProblems(
        new Map([
          ['a', zones('')],
          ['b', zones('01')],
        ]),
      ),
    ).toEqual([{ kind: 'overlap', path: '01', owners: ['a', 'b'] }]);
  });
});

describe('ZoneHistory', () => {
  it('explains a hole by the peers that held it or its sibling, gone ones included, and no one else', () => {
    const history = new ZoneHistory();
    history.note('a', 'join', zones('0'));
    history.note('b', 'join', zones('10'));
    history.note('c', 'invite', zones('11'));
    history.note('c', 'crashed');
    history.note('d', 'join', zones('0'));
    const report = history.report(
      new Map([
        ['a', zones('0')],
        ['b', zones('10')],
      ]),
    );
    expect(report).toMatch(
      /^hole 11\n {2}b:\n {4}\d+\.\d\ds join → \[10\]\n {2}c \(gone\):\n {4}\d+\.\d\ds invite → \[11\]\n {4}\d+\.\d\ds crashed$/,
    );
    expect(
      history.report(
        new Map([
          ['a', zones('0')],
          ['b', zones('10')],
          ['c', zones('11')],
        ]),
      ),
    ).toBeUndefined();
  });

  it('keeps a bounded history per peer', () => {
    const history = new ZoneHistory();
    for (let i = 0; i < 100; i++) history.note('a', `step ${i}`, zones('0'));
    const report = history.report(new Map([['b', zones('1')]])) ?? '';
    expect(report).toContain('step 99');
    expect(report).not.toContain('step 87');
    expect(report.split('\n').filter((l) => l.includes('step')).length).toBe(12);
  });
});
