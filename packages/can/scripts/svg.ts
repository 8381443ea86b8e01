// Hand-written SVG for the simulator's pictures: a 2D zone map with a routed path, and hops against n.
import type { Point, SimulatedOverlay } from '../src/index.js';

const TWO_32 = 2 ** 32;
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

const fmt = (value: number): string => String(Math.round(value * 100) / 100);
const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** The zones of a 2-dimensional overlay (dimension 0 across, 1 down) and the path of one routed lookup. */
export function zoneMapSvg(
  overlay: SimulatedOverlay,
  path: readonly number[],
  target: Point,
  size = 800,
): string {
  const scale = size / TWO_32;
  const parts: string[] = [];
  const margin = 30;
  for (const { zone, owner } of overlay.zoneTable()) {
    const [x, y] = zone.low as [number, number];
    const [w, h] = zone.span as [number, number];
    const shade = 235 - Math.min(zone.depth, 24) * 4;
    parts.push(
      `<rect x="${fmt(x * scale)}" y="${fmt(y * scale)}" width="${fmt(w * scale)}" height="${fmt(h * scale)}" ` +
        `fill="rgb(${shade},${shade},255)"><title>peer ${owner}, zone ${zone.path}</title></rect>`,
    );
  }
  const stops = path.map((id) => (overlay.zonesOf(id)[0] as { center(): Point }).center());
  stops.push(target);
  const lines: string[] = [];
  for (let i = 1; i < stops.length; i++) {
    const a = stops[i - 1] as Point;
    const b = stops[i] as Point;
    // On the torus a hop may leave one edge and come back at the other: draw it from both ends, clipped.
    const dx = wrapDelta((b[0] as number) - (a[0] as number));
    const dy = wrapDelta((b[1] as number) - (a[1] as number));
    for (const [from, sign] of [
      [a, 1],
      [b, -1],
    ] as const) {
      const x1 = (from[0] as number) * scale;
      const y1 = (from[1] as number) * scale;
      lines.push(
        `<line x1="${fmt(x1)}" y1="${fmt(y1)}" x2="${fmt(x1 + sign * dx * scale)}" y2="${fmt(y1 + sign * dy * scale)}"/>`,
      );
    }
  }
  const dot = (p: Point, colour: string, label: string): string =>
    `<circle cx="${fmt((p[0] as number) * scale)}" cy="${fmt((p[1] as number) * scale)}" r="6" fill="${colour}"><title>${label}</title></circle>`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size + 2 * margin}" height="${size + 2 * margin + 20}" font-family="sans-serif" font-size="14">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${margin}" y="20">${escape(`${overlay.size} peers, d = 2: zones and a greedy route of ${path.length - 1} hops`)}</text>`,
    `<defs><clipPath id="space"><rect width="${size}" height="${size}"/></clipPath></defs>`,
    `<g transform="translate(${margin},${margin + 10})">`,
    `<g stroke="#555" stroke-width="0.5">${parts.join('')}</g>`,
    `<g clip-path="url(#space)" stroke="#d62728" stroke-width="3">${lines.join('')}</g>`,
    dot(stops[0] as Point, '#2ca02c', 'start'),
    dot(target, '#d62728', 'target'),
    `</g></svg>`,
  ].join('\n');
}

function wrapDelta(delta: number): number {
  if (delta > TWO_32 / 2) return delta - TWO_32;
  if (delta < -TWO_32 / 2) return delta + TWO_32;
  return delta;
}

export interface HopSeries {
  readonly d: number;
  readonly points: readonly { readonly n: number; readonly meanHops: number }[];
}

/** Mean hops against n on log-log axes, each d next to the CAN paper's (d/4)·n^(1/d) (dashed). */
export function hopsPlotSvg(series: readonly HopSeries[], title: string): string {
  const width = 760;
  const height = 520;
  const left = 70;
  const top = 50;
  const plotW = width - left - 170;
  const plotH = height - top - 60;
  const all = series.flatMap((s) => s.points);
  const nMin = Math.min(...all.map((p) => p.n));
  const nMax = Math.max(...all.map((p) => p.n));
  const hMin = 0.5;
  const hMax =
    Math.max(...series.map((s) => (s.d / 4) * nMax ** (1 / s.d)), ...all.map((p) => p.meanHops)) * 1.2;
  const x = (n: number): number => left + (Math.log(n / nMin) / Math.log(nMax / nMin)) * plotW;
  const y = (h: number): number => top + plotH - (Math.log(h / hMin) / Math.log(hMax / hMin)) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="24" font-size="15">${escape(title)}</text>`,
    `<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
  ];
  for (let n = 10; n <= nMax * 1.0001; n *= 10) {
    if (n < nMin) continue;
    out.push(
      `<line x1="${fmt(x(n))}" y1="${top}" x2="${fmt(x(n))}" y2="${top + plotH}" stroke="#ddd"/>`,
      `<text x="${fmt(x(n))}" y="${top + plotH + 18}" text-anchor="middle">${n >= 1000 ? `${n / 1000}k` : n}</text>`,
    );
  }
  for (const h of [1, 2, 5, 10, 20, 50, 100, 200, 500]) {
    if (h > hMax) break;
    out.push(
      `<line x1="${left}" y1="${fmt(y(h))}" x2="${left + plotW}" y2="${fmt(y(h))}" stroke="#ddd"/>`,
      `<text x="${left - 8}" y="${fmt(y(h) + 4)}" text-anchor="end">${h}</text>`,
    );
  }
  out.push(
    `<text x="${left + plotW / 2}" y="${height - 12}" text-anchor="middle">peers n (log)</text>`,
    `<text transform="translate(18,${top + plotH / 2}) rotate(-90)" text-anchor="middle">mean hops (log)</text>`,
  );
  series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length] as string;
    const formula: string[] = [];
    for (let k = 0; k <= 60; k++) {
      const n = nMin * (nMax / nMin) ** (k / 60);
      formula.push(`${fmt(x(n))},${fmt(y((s.d / 4) * n ** (1 / s.d)))}`);
    }
    const measured = s.points.map((p) => `${fmt(x(p.n))},${fmt(y(Math.max(p.meanHops, hMin)))}`);
    out.push(
      `<polyline points="${formula.join(' ')}" fill="none" stroke="${colour}" stroke-dasharray="6 4"/>`,
      `<polyline points="${measured.join(' ')}" fill="none" stroke="${colour}" stroke-width="2"/>`,
      ...s.points.map(
        (p) =>
          `<circle cx="${fmt(x(p.n))}" cy="${fmt(y(Math.max(p.meanHops, hMin)))}" r="3" fill="${colour}"><title>n=${p.n}: ${p.meanHops}</title></circle>`,
      ),
      `<line x1="${left + plotW + 15}" y1="${top + 20 + i * 40}" x2="${left + plotW + 40}" y2="${top + 20 + i * 40}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${left + plotW + 46}" y="${top + 24 + i * 40}">d = ${s.d} simulated</text>`,
      `<line x1="${left + plotW + 15}" y1="${top + 36 + i * 40}" x2="${left + plotW + 40}" y2="${top + 36 + i * 40}" stroke="${colour}" stroke-dasharray="6 4"/>`,
      `<text x="${left + plotW + 46}" y="${top + 40 + i * 40}">(d/4)·n^(1/d)</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}
