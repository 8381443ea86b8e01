import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNatTestbed, type NatHost, type NatTestbed } from '@xpp/netns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportAdminPrivateKey, generateAdminKeyPair } from '@xpp/dht';
import { waitFor } from '@xpp/reliability/testing';

const script = fileURLToPath(new URL('./nat/peer.mjs', import.meta.url));
const scenario = (name: string) => fileURLToPath(new URL(`./sipp/${name}`, import.meta.url));

interface Answer {
  readonly id: number;
  readonly ok: boolean;
  readonly error?: string;
  readonly [key: string]: unknown;
}

interface Status {
  readonly state: string;
  readonly zones: string[];
  readonly contact: { uri: string; candidates: { type: string; address: string }[] };
  readonly neighbours: { id: string; linked: boolean }[];
  readonly nat: { route?: string; holders: string[]; held: number };
  readonly sip: { rejected: Record<string, number> };
}

/** One `test/nat/peer.mjs` (a peer with its SIP front) in a namespace, driven by JSON lines. */
class Peer {
  readonly #waiting = new Map<number, (answer: Answer) => void>();
  readonly output: string[] = [];
  #next = 1;
  id = '';
  uri = '';

  constructor(readonly child: ChildProcess) {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        this.output.push(line);
        const answer = JSON.parse(line) as Answer;
        this.#waiting.get(answer.id)?.(answer);
        this.#waiting.delete(answer.id);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => this.output.push(`stderr: ${chunk.toString()}`));
  }

  async ready(): Promise<void> {
    await new Promise<Answer>((resolve) => this.#waiting.set(0, resolve));
    const hello = await this.ask('hello');
    this.id = hello.peer as string;
    this.uri = hello.uri as string;
  }

  ask(op: string, args: Record<string, unknown> = {}): Promise<Answer> {
    const id = this.#next++;
    return new Promise<Answer>((resolve, reject) => {
      this.#waiting.set(id, (answer) =>
        answer.ok ? resolve(answer) : reject(new Error(`${op}: ${answer.error}`)),
      );
      this.child.stdin?.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  }

  async status(): Promise<Status> {
    return (await this.ask('status')) as unknown as Status;
  }
}

/** sipp in namespace `ns`, bound to `ip:port`; resolves with its exit code and output. */
function sipp(
  bed: NatTestbed,
  ns: string,
  file: string,
  run: { ip: string; port: number; service: string; remote?: string; auth?: [string, string] },
): Promise<{ code: number | null; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'xpp-natcall-'));
  const copy = join(dir, 'scenario.xml');
  writeFileSync(copy, readFileSync(file));
  const args = [
    '-sf',
    copy,
    '-i',
    run.ip,
    '-p',
    String(run.port),
    '-mp',
    String(run.port + 1000),
    '-s',
    run.service,
    '-m',
    '1',
    '-nostdin',
    '-timeout',
    '30s',
    '-timeout_error',
    '-trace_err',
    ...(run.auth === undefined ? [] : ['-au', run.auth[0], '-ap', run.auth[1]]),
    ...(run.remote === undefined ? [] : [run.remote]),
  ];
  const child = bed.spawnIn(ns, 'sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) =>
    child.on('close', (code) => {
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, output });
    }),
  );
}

/** uac.xml as `user` calls (its From and Contact), written next to the original. */
function uacAs(user: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'xpp-natcall-uac-')), 'uac.xml');
  writeFileSync(file, readFileSync(scenario('uac.xml'), 'utf8').replaceAll('sip:alice@', `sip:${user}@`));
  return file;
}

// Runs as root (CI too: .ci/run installs iproute2 and nftables); without namespaces createNatTestbed throws and the
// suite fails loudly. docs/decisions/node-peer-nat-sip.md says what this covers.
describe('a call between clients of two NATed peers (netns)', () => {
  let bed: NatTestbed;
  const peers: Peer[] = [];
  const admin = exportAdminPrivateKey(generateAdminKeyPair().privateKey);
  beforeAll(() => {
    bed = createNatTestbed({
      hosts: 2,
      prefix: `c${process.pid % 10000}`,
      mappings: ['endpoint-independent', 'address-dependent'],
    });
  });
  afterAll(() => {
    for (const peer of peers) peer.child.kill('SIGTERM');
    bed?.destroy();
  });

  const start = async (ns: string, host: string, sip: number, xpp: number): Promise<Peer> => {
    const child = bed.spawnIn(ns, process.execPath, [script, host, String(sip), String(xpp)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, XPP_ADMIN_KEY: admin, XPP_DOMAIN: 'localhost' },
    });
    const peer = new Peer(child);
    peers.push(peer);
    await peer.ready();
    return peer;
  };

  it(
    'forms, keeps flows to public neighbours, and completes calls both ways between clients behind an EIM and an ADM NAT',
    { timeout: 90_000 },
    async () => {
      const [eim, adm] = bed.hosts as [NatHost, NatHost];
      const pub = bed.server.address;
      const [p1, p2, p3] = [
        await start(bed.server.ns, pub, 5061, 7001),
        await start(bed.server.ns, pub, 5062, 7002),
        await start(bed.server.ns, pub, 5063, 7003),
      ] as [Peer, Peer, Peer];
      const n1 = await start(eim.ns, eim.address, 5060, 7000);
      const n2 = await start(adm.ns, adm.address, 5060, 7000);
      await p1.ask('bootstrap');
      await p1.ask('invite', { uri: p2.uri });
      await p2.ask('invite', { uri: p3.uri });
      // As in packages/dht/test/nat-overlay.test.ts: the NATed peers touch only at corners (no link between them).
      // Each joins as `xpp-node join --via` does: a candidate REGISTER to a public peer, which invites it.
      await p1.ask('addUser', { aor: 'sip:cand1@localhost', password: 'c1' });
      await p1.ask('addUser', { aor: 'sip:cand2@localhost', password: 'c2' });
      const via = (p: Peer) => /@([\d.]+:\d+)/.exec(p.uri)![1];
      await n1.ask('join', { via: via(p1), aor: 'sip:cand1@localhost', password: 'c1' });
      await n2.ask('join', { via: via(p2), aor: 'sip:cand2@localhost', password: 'c2' });
      const all = [p1, p2, p3, n1, n2];
      let last: Status[] = [];
      const statuses = async () => (last = await Promise.all(all.map((p) => p.status())));
      // Every peer owns a zone; each NATed peer holds flows at public neighbours and routes through one of them.
      await waitFor(
        async () => {
          const s = await statuses();
          return (
            s.every((x) => x.state === 'peer' && x.zones.length > 0) &&
            [s[3]!, s[4]!].every((x) => x.nat.route !== undefined && x.nat.holders.length > 0)
          );
        },
        { timeoutMs: 30_000, what: () => JSON.stringify(last) },
      );
      const s = await statuses();
      const publicIds = new Set([p1, p2, p3].map((p) => p.id));
      for (const [x, host] of [
        [s[3]!, eim],
        [s[4]!, adm],
      ] as const) {
        // The candidate learned its reflexive SIP address from its REGISTER's Via (received/rport) and advertises it.
        expect(x.contact.uri).toContain(`@${host.natAddress}:`);
        expect(x.nat.holders.every((h) => publicIds.has(h))).toBe(true);
        expect(x.nat.route).toMatch(/^sip:[0-9a-f]{32}@192\.0\.2\.1:506[123];lr;xpp-flow$/);
      }
      for (const x of s.slice(0, 3)) expect(x.nat.route).toBeUndefined();

      await p1.ask('addUser', { aor: 'sip:alice@localhost', password: 'wonderland' });
      await p1.ask('addUser', { aor: 'sip:bob@localhost', password: 'builder' });
      // Each client registers from inside its peer's private network.
      const alice = { ns: eim.ns, ip: eim.address, port: 5070, peer: `${eim.address}:5060` };
      const bob = { ns: adm.ns, ip: adm.address, port: 5070, peer: `${adm.address}:5060` };
      for (const [c, user, password] of [
        [alice, 'alice', 'wonderland'],
        [bob, 'bob', 'builder'],
      ] as const) {
        const r = await sipp(bed, c.ns, scenario('register.xml'), {
          ip: c.ip,
          port: c.port,
          service: user,
          remote: c.peer,
          auth: [user, password],
        });
        expect(r.code, r.output).toBe(0);
      }

      // alice (behind the EIM NAT) calls bob (behind the ADM NAT): INVITE → 180/200 → ACK → BYE; then back.
      for (const [caller, callee, user, password, service] of [
        [alice, bob, 'alice', 'wonderland', 'bob'],
        [bob, alice, 'bob', 'builder', 'alice'],
      ] as const) {
        const uas = sipp(bed, callee.ns, scenario('uas.xml'), { ip: callee.ip, port: callee.port, service });
        const uac = await sipp(bed, caller.ns, uacAs(user), {
          ip: caller.ip,
          port: caller.port + 1,
          service,
          remote: caller.peer,
          auth: [user, password],
        });
        const answered = await uas;
        expect(uac.code, `${uac.output}\n${answered.output}\n${JSON.stringify(await statuses())}`).toBe(0);
        expect(answered.code, answered.output).toBe(0);
      }
      // The calls went through the public holders of the NATed peers' flows, none refused as an open relay.
      const after = await statuses();
      expect(after.slice(0, 3).reduce((sum, x) => sum + x.nat.held, 0)).toBeGreaterThanOrEqual(2);
      for (const x of after) expect(x.sip.rejected['flow-route-refused'] ?? 0).toBe(0);
    },
  );
});
