// `node --import tsx bench/profile-summary.ts FILE.cpuprofile [TOP]`: the functions of a V8 CPU profile (written by
// `node --cpu-prof`, e.g. the bench's BENCH_PROFILE) with the most self time and the most inclusive time, as shares
// of the busy (non-idle) samples. Inclusive time counts a function once per sample however often it recurs.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
}

/** Samples V8 attributes to no JavaScript work: time the process spent waiting or collecting garbage is kept. */
const IDLE = new Set(['(idle)', '(program)']);

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url === '' ? '' : ` ${basename(url)}:${lineNumber + 1}`;
  return `${functionName === '' ? '(anonymous)' : functionName}${file}`;
}

export function summarise(
  profile: Profile,
  top: number,
): { busyShare: number; self: [string, number][]; inclusive: [string, number][] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busy = 0;
  let all = 0;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    all += hits;
    if (hits === 0 || IDLE.has(n.callFrame.functionName)) continue;
    busy += hits;
    self.set(label(n), (self.get(label(n)) ?? 0) + hits);
    const seen = new Set<string>();
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const at = byId.get(id)!;
      if (at.callFrame.functionName === '(root)') continue;
      seen.add(label(at));
    }
    for (const l of seen) inclusive.set(l, (inclusive.get(l) ?? 0) + hits);
  }
  const ranked = (m: Map<string, number>): [string, number][] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([l, h]) => [l, h / Math.max(1, busy)]);
  return { busyShare: busy / Math.max(1, all), self: ranked(self), inclusive: ranked(inclusive) };
}

const [file, topArg] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: profile-summary.ts FILE.cpuprofile [TOP]');
const summary = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(topArg ?? 20));
const pct = (share: number) => `${(share * 100).toFixed(1).padStart(5)} %`;
console.log(`${file}: busy ${pct(summary.busyShare)} of the samples`);
console.log('self time (share of busy samples):');
for (const [l, s] of summary.self) console.log(`  ${pct(s)}  ${l}`);
console.log('inclusive time:');
for (const [l, s] of summary.inclusive) console.log(`  ${pct(s)}  ${l}`);
