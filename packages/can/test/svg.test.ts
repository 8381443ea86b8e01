import { describe, expect, it } from 'vitest';
import { hopsPlotSvg } from '../scripts/svg.js';

describe('hops plot', () => {
  it('draws each d measured (solid) next to its formula (dashed) on log axes', () => {
    const svg = hopsPlotSvg(
      [2, 4].map((d) => ({
        d,
        points: [10, 100, 1000].map((n) => ({ n, meanHops: (d / 4) * n ** (1 / d) * 0.9 })),
      })),
      'title & <more>',
    );
    expect(svg.match(/<polyline [^>]*stroke-dasharray/g)).toHaveLength(2);
    expect(svg.match(/<polyline /g)).toHaveLength(4);
    expect(svg.match(/<circle /g)).toHaveLength(6);
    expect(svg).toContain('title &amp; &lt;more>');
    expect(svg).toContain('>1k<');
    expect(svg).not.toContain('NaN');
  });
});
