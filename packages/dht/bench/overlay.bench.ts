// The overlay against a baseline in the same run: GET/PUT latency on a 100-peer XPP-PCAN overlay over real UDP on
// loopback (xpp-overlay.run.ts) against dht-rpc lookups on a 100-node loopback testnet (dht-rpc.run.ts), each in
// its own process one after the other so that RSS per node is each one's own. The last line printed is one JSON
// object of the figures.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { round } from './support/measure.js';

interface OverlayFigures {
  nodes: number;
  getP50Ms: number;
  getP99Ms: number;
  putP50Ms: number;
  putP99Ms: number;
  joinP50Ms: number;
  joinP99Ms: number;
  meanHops: number;
  rssPerNodeMB: number;
}

interface DhtRpcFigures {
  nodes: number;
  lookupP50Ms: number;
  lookupP99Ms: number;
  joinP50Ms: number;
  rssPerNodeMB: number;
}

/** Runs one contender in a fresh Node process; its last stdout line is its JSON figures. */
function run<T>(script: string, env: Record<string, string> = {}): T {
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', fileURLToPath(new URL(script, import.meta.url))],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      // Minutes on a loaded machine (two overlays now): a guard against a hung run, not a figure.
      timeout: Number(process.env['BENCH_RUN_TIMEOUT_MS'] ?? 600_000),
      env: { ...process.env, ...env },
    },
  );
  const last = out.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as T;
}

const ours = run<OverlayFigures>('./xpp-overlay.run.ts');
// The same overlay without membership, in the same run: what certificates cost a join (issue #16).
const uncertified = run<OverlayFigures>('./xpp-overlay.run.ts', { BENCH_CERTIFIED: '0' });
const baseline = run<DhtRpcFigures>('./dht-rpc.run.ts');

console.table({
  'XPP-PCAN GET (routed to the owner)': { p50Ms: ours.getP50Ms, p99Ms: ours.getP99Ms },
  'XPP-PCAN PUT (routed to the owner)': { p50Ms: ours.putP50Ms, p99Ms: ours.putP99Ms },
  'XPP-PCAN invite → serving': { p50Ms: ours.joinP50Ms, p99Ms: ours.joinP99Ms },
  'XPP-PCAN invite → serving, no membership': { p50Ms: uncertified.joinP50Ms, p99Ms: uncertified.joinP99Ms },
  'XPP-PCAN GET, no membership': { p50Ms: uncertified.getP50Ms, p99Ms: uncertified.getP99Ms },
  'dht-rpc findNode (baseline)': { p50Ms: baseline.lookupP50Ms, p99Ms: baseline.lookupP99Ms },
  'dht-rpc bootstrap of a node (baseline)': { p50Ms: baseline.joinP50Ms, p99Ms: Number.NaN },
});
console.log(
  `mean hops ${ours.meanHops}; RSS per node: XPP-PCAN ${ours.rssPerNodeMB} MB, dht-rpc ${baseline.rssPerNodeMB} MB; ` +
    `PUT p50 ratio to dht-rpc ${round(ours.putP50Ms / baseline.lookupP50Ms)}`,
);
console.log(
  JSON.stringify({
    nodes: ours.nodes,
    getP50Ms: ours.getP50Ms,
    getP99Ms: ours.getP99Ms,
    getP50RatioDhtRpc: round(ours.getP50Ms / baseline.lookupP50Ms),
    joinMs: ours.joinP50Ms,
    joinMsUncertified: uncertified.joinP50Ms,
    joinRatioUncertified: round(ours.joinP50Ms / uncertified.joinP50Ms),
    rssPerNodeMB: ours.rssPerNodeMB,
    rssPerNodeMBUncertified: uncertified.rssPerNodeMB,
  }),
);
