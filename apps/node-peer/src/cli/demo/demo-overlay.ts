import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashKey, nextHop } from '@xpp/can';
import { OverlayNode, RecordKind } from '@xpp/dht';
import { configSchema, type NodeConfig } from '../../config.js';
import { startNode, type NodeHandle } from '../../daemon.js';
import { createLogger } from '../../logger.js';
import { NodeMetrics } from '../../metrics.js';
import { invitePeer } from '../peer-commands.js';
import { addUser } from '../user-add.js';
import { DemoSipClient } from './sip-client.js';

export interface DemoOptions {
  /** Peers in the overlay: the first plus candidates invited one by one. Default 5. */
  readonly peers?: number;
  /** Default 2, so that the zones print as short paths. */
  readonly dimensions?: number;
  /** Deadline of each step (a join, a registration, the call), ms. Default 30 000. */
  readonly stepTimeoutMs?: number;
  /** Where the report goes, line by line. */
  readonly out: (line: string) => void;
  /** Log level of the nodes (their logs go to stderr). Default `warn`. */
  readonly logLevel?: NodeConfig['logLevel'];
}

export interface DemoResult {
  readonly ok: boolean;
  readonly peers: readonly NodeHandle[];
  /** Ends the overlay: each peer leaves gracefully (`graceful`, Ctrl-C) or just closes (after a `--ci` report). */
  stop(graceful: boolean): Promise<void>;
}

/**
 * The invite policy of the demo (spec §7 with the thresholds lowered): invite any candidate whose flow is older
 * than 200 ms, asking every 250 ms.
 */
const DEMO_INVITE_POLICY = {
  maxClients: 0,
  maxRecords: 0,
  maxRequestRate: 0,
  minStableFlowMs: 200,
  intervalMs: 250,
};

async function within<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `condition` every 50 ms until it holds or `ms` have passed; whether it held. */
async function settle(ms: number, condition: () => boolean): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/** The peers a routed request for `key` visits from `from` to the key's owner, by the overlay's greedy rule. */
function route(from: NodeHandle, key: string, peers: readonly NodeHandle[]): NodeHandle[] {
  const target = hashKey(key, from.node.dimensions);
  const byId = new Map(peers.map((p) => [p.node.id, p]));
  const path = [from];
  for (let at = from; path.length <= peers.length;) {
    const decision = nextHop(
      target,
      at.node.zones,
      at.node.neighbours().flatMap((n) => n.zones.map((zone) => ({ id: n.id, zone }))),
    );
    if (decision.kind !== 'forward') break;
    const next = byId.get(String(decision.next.id));
    if (next === undefined) break;
    path.push(next);
    at = next;
  }
  return path;
}

const short = (p: NodeHandle): string => p.node.id.slice(0, 8);

/**
 * `xpp-node demo`: a local overlay of real daemons on loopback UDP — one first peer and candidates that register
 * with `+sip.xpp-peer` and are invited by the live spec §7 policy (thresholds lowered) — two users added through
 * the admin endpoint, registered with digest at different peers, a call between them through the overlay, and a
 * report of zones, hops and who holds what.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const count = options.peers ?? 5;
  const step = options.stepTimeoutMs ?? 30_000;
  const out = options.out;
  const base = mkdtempSync(join(tmpdir(), 'xpp-demo-'));
  const peers: NodeHandle[] = [];
  const clients: DemoSipClient[] = [];
  let ok = true;
  const check = (good: boolean, line: string): void => {
    ok &&= good;
    out(`${good ? 'ok  ' : 'FAIL'} ${line}`);
  };
  const configOf = (i: number, extra: Partial<NodeConfig> = {}): NodeConfig =>
    configSchema.parse({
      domain: 'localhost',
      host: '127.0.0.1',
      sipPort: 0,
      xppPort: 0,
      httpPort: 0,
      dataDir: join(base, `peer-${i}`),
      dimensions: options.dimensions ?? 2,
      logLevel: options.logLevel ?? 'warn',
      invitePolicy: DEMO_INVITE_POLICY,
      ...extra,
    });
  const start = (config: NodeConfig) =>
    startNode(config, {
      logger: createLogger(config, { pretty: false, destination: process.stderr }),
      metrics: new NodeMetrics({ processMetrics: false }),
    });
  const stop = async (graceful: boolean): Promise<void> => {
    for (const c of clients) c.close();
    for (const p of [...peers].reverse()) await (graceful ? p.leave() : p.close()).catch(() => p.close());
  };

  try {
    out(
      `== a local XPP-PCAN overlay of ${count} xpp-node daemons on 127.0.0.1 (d = ${options.dimensions ?? 2})`,
    );
    const first = await start(configOf(0));
    peers.push(first);
    out(
      `peer ${short(first)} started a new overlay and certified itself (SIP ${first.ports.sip}, HTTP ${first.ports.http})`,
    );
    const adminConfig = { domain: 'localhost', dataDir: first.config.dataDir, httpPort: first.ports.http };

    for (let i = 1; i < count; i++) {
      const via = peers[Math.floor((i - 1) / 2)] as NodeHandle;
      // As an operator adds a host: a one-time token from the administrator's node, `join --token` on the host.
      const invitation = await invitePeer(adminConfig, { days: 1 });
      const candidate = await start(
        configOf(i, {
          joinVia: `127.0.0.1:${via.ports.sip}`,
          enrollToken: invitation.text,
          adminPublicKey: first.keys.adminPublicKeyHex,
        }),
      );
      peers.push(candidate);
      await within(`peer ${i} joining via ${short(via)}`, step, candidate.ready);
      out(
        `peer ${short(candidate)} enrolled with a token (certificate from ${short(first)}), registered with ` +
          `${short(via)} as a candidate (+sip.xpp-peer) and was invited: zone ${candidate.node.zones.map((z) => z.path).join(',')}`,
      );
    }
    // The candidate is a peer once its JOIN arrived; its inviter takes the lower half when the answer is back.
    const tiled = await settle(step, () => OverlayNode.tiling(peers.map((p) => p.node)).ok);
    check(tiled, 'the zones tile the space: every point has one owner');

    const users = [
      { aor: 'sip:alice@localhost', password: 'alice-secret', at: peers[1 % count] as NodeHandle },
      { aor: 'sip:bob@localhost', password: 'bob-secret', at: peers[(count - 1) % count] as NodeHandle },
    ];
    for (const u of users) {
      const added = await addUser({ ...adminConfig, httpPort: u.at.ports.http }, u);
      out(`user ${added.aor} added through peer ${short(u.at)} (credential signed by the administrator key)`);
    }
    const [alice, bob] = await Promise.all(
      users.map((u) =>
        DemoSipClient.open({ ...u, peer: { address: '127.0.0.1', port: u.at.ports.sip } }).then((c) => {
          clients.push(c);
          return c;
        }),
      ),
    );
    for (const [i, client] of [alice, bob].entries()) {
      const status = await within(`REGISTER ${client!.aor}`, step, client!.register());
      check(status === 200, `${client!.aor} REGISTER with digest at peer ${short(users[i]!.at)}: ${status}`);
    }
    const call = await within('the call', step, alice!.call('sip:bob@localhost'));
    const answered = [...bob!.answered.values()];
    check(
      call.invite === 200 && call.bye === 200 && answered.length === 1 && answered[0]?.ended === true,
      `call alice → bob through peers ${short(users[0]!.at)} → ${short(users[1]!.at)}: INVITE ${call.invite}, ` +
        `BYE ${String(call.bye)}`,
    );

    out('\npeer      zone  share  neighbours  records  sessions');
    for (const p of peers) {
      const s = p.status();
      out(
        `${short(p)}  ${s.zones.join(',').padEnd(4)}  ${(s.volume * 100).toFixed(1).padStart(5)}%  ` +
          `${String(s.neighbours.length).padStart(10)}  ${String(s.records).padStart(7)}  ${String(s.sessions).padStart(8)}`,
      );
    }
    out('\nwho holds what (CREDENTIAL and BINDING live at the owner of hash(AOR)):');
    for (const u of users) {
      const path = route(u.at, u.aor, peers);
      const owner = path[path.length - 1] as NodeHandle;
      out(
        `${u.aor}: owner ${short(owner)} (zone ${owner.node.zones.map((z) => z.path).join(',')}), flow at ` +
          `${short(u.at)}, ${path.length - 1} hop(s) from there: ${path.map(short).join(' → ')}`,
      );
    }

    // Issue #18: a restart is a rejoin. The owner of bob's AOR stops as a crash leaves it (no LEAVE) and starts
    // again from its data directory on the same ports: its zone and records come back, in the same overlay.
    out(
      '\n== a restart: the owner of sip:bob@localhost stops without leaving, then starts from its data directory',
    );
    const bobPath = route(users[1]!.at, users[1]!.aor, peers);
    const victim = bobPath[bobPath.length - 1] as NodeHandle;
    const zones = victim.node.zones.map((z) => z.path).join(',');
    const overlayId = first.node.overlayId;
    await victim.close();
    const again = await start({ ...victim.config, sipPort: victim.ports.sip, xppPort: victim.ports.xpp });
    peers[peers.indexOf(victim)] = again;
    const formed = await settle(
      step,
      () =>
        OverlayNode.tiling(peers.map((p) => p.node)).ok &&
        peers.every((p) => p.node.overlayId === overlayId && p.node.neighbours().every((n) => n.linked)),
    );
    check(
      formed && again.node.zones.map((z) => z.path).join(',') === zones,
      `peer ${short(again)} restarted: zone ${zones} taken back, overlay ${String(overlayId).slice(0, 8)} on all ` +
        `${peers.length} peers, ${again.status().records} records kept on disk`,
    );
    const kept = await within('the binding lookup', step, again.node.get(users[1]!.aor, RecordKind.BINDING));
    check(kept.length > 0, `bob's registration outlived the restart: ${kept.length} binding(s) at the owner`);
    // A client whose flow ran through the restarted peer lost it (the flow died with the process): it registers again.
    for (const [i, client] of [alice, bob].entries()) {
      if (users[i]!.at.ports.sip !== again.ports.sip) continue;
      const status = await within(`REGISTER ${client!.aor}`, step, client!.register());
      check(status === 200, `${client!.aor} registers again (its flow died with the peer): ${status}`);
    }
    const after = await within('the call after the restart', step, alice!.call('sip:bob@localhost'));
    check(
      after.invite === 200 && after.bye === 200,
      `call alice → bob after the restart: INVITE ${after.invite}, BYE ${String(after.bye)}`,
    );
  } catch (error) {
    check(false, (error as Error).message);
  }
  out(ok ? '\ndemo: ok' : '\ndemo: FAILED');
  return { ok, peers, stop };
}
