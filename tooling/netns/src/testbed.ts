import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/**
 * How a host's NAT router maps (RFC 4787 §4.1); filtering is address-and-port-dependent for both (only tracked
 * flows come in).
 * - `endpoint-independent`: nftables `masquerade`, which keeps the source port, so a host appears at the same
 *   public address and port whatever it sends to — what STUN finds is what every peer sees (hole punching works).
 * - `address-dependent`: `masquerade fully-random`, a fresh random port for every new flow (at least
 *   address-dependent, a "symmetric" NAT): what STUN finds holds for the STUN server only.
 */
export type NatMapping = 'endpoint-independent' | 'address-dependent';

/** One test host on a private LAN behind its own NAT router. */
export interface NatHost {
  /** Network namespace the host runs in. */
  readonly ns: string;
  /** The host's private address (what it binds and sees for itself). */
  readonly address: string;
  /** The NAT router's public address: where the host's traffic appears to come from. */
  readonly natAddress: string;
  /** How its NAT maps. */
  readonly mapping: NatMapping;
}

/**
 * Hosts behind real Linux NAT routers (nftables masquerade: address- and port-dependent filtering, as
 * consumer NATs do), joined by a routed "public" network whose server address is `server.address`.
 *
 *   host1 ─ LAN 10.91.1.0/24 ─ nat1 ─ 203.0.113.4/30 ─┐
 *                                                      pub (192.0.2.1, the server)
 *   host2 ─ LAN 10.91.2.0/24 ─ nat2 ─ 203.0.113.8/30 ─┘   (each NAT maps as `mappings` says)
 */
export interface NatTestbed {
  readonly hosts: readonly NatHost[];
  readonly server: { readonly ns: string; readonly address: string };
  /** Starts `command` inside namespace `ns`. */
  spawnIn(ns: string, command: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Runs `command` inside `ns` and returns its stdout. */
  execIn(ns: string, command: string, args: readonly string[]): string;
  /** Drops `percent`% of the packets arriving at the public router, at random (nftables numgen). 0 removes it. */
  setPublicLoss(percent: number): void;
  /** Removes every namespace and link made for this testbed. */
  destroy(): void;
}

export interface NatTestbedOptions {
  /** Number of NATed hosts, 1–8. Default 2. */
  readonly hosts?: number;
  /** Short unique prefix for namespace and link names (≤ 5 characters). Default from the process id. */
  readonly prefix?: string;
  /** The mapping of host i's NAT (index i); hosts past the list's end are `endpoint-independent`. */
  readonly mappings?: readonly NatMapping[];
}

/** Thrown when the machine cannot make namespaces: tests that need them must fail loudly, never skip. */
export class NetnsUnavailableError extends Error {
  override readonly name = 'NetnsUnavailableError';
  readonly code = 'NETNS_UNAVAILABLE';
}

const SERVER_ADDRESS = '192.0.2.1';

function ip(args: readonly string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function inNs(ns: string, args: readonly string[], input?: string): string {
  return execFileSync('ip', ['netns', 'exec', ns, ...args], {
    encoding: 'utf8',
    input,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
}

/** Checks that namespaces, veth links and nftables can be used here; throws {@link NetnsUnavailableError}. */
export function assertNetnsAvailable(): void {
  if (process.getuid?.() !== 0) throw new NetnsUnavailableError('network namespaces need root');
  for (const tool of ['ip', 'nft']) {
    try {
      execFileSync('which', [tool], { stdio: 'ignore' });
    } catch {
      throw new NetnsUnavailableError(`${tool} is not installed (apt-get install iproute2 nftables)`);
    }
  }
}

export function createNatTestbed(options: NatTestbedOptions = {}): NatTestbed {
  assertNetnsAvailable();
  const count = options.hosts ?? 2;
  if (!Number.isInteger(count) || count < 1 || count > 8) throw new RangeError('hosts must be 1..8');
  const prefix = options.prefix ?? `x${process.pid % 100000}`;
  const server = `${prefix}pub`;
  const namespaces: string[] = [];
  const addNs = (name: string) => {
    ip(['netns', 'add', name]);
    namespaces.push(name);
    inNs(name, ['ip', 'link', 'set', 'lo', 'up']);
  };
  const destroy = () => {
    for (const ns of namespaces.splice(0).reverse()) {
      try {
        ip(['netns', 'del', ns]);
      } catch {
        // already gone: deleting a namespace also deletes the veth ends inside it
      }
    }
  };

  const hosts: NatHost[] = [];
  try {
    addNs(server);
    inNs(server, ['ip', 'addr', 'add', `${SERVER_ADDRESS}/32`, 'dev', 'lo']);
    inNs(server, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    for (let i = 1; i <= count; i++) {
      const host = `${prefix}h${i}`;
      const nat = `${prefix}n${i}`;
      addNs(host);
      addNs(nat);
      const lan = `10.91.${i}`;
      const wanPub = `203.0.113.${4 * i + 1}`;
      const wanNat = `203.0.113.${4 * i + 2}`;
      // host ↔ nat (LAN)
      ip([
        'link',
        'add',
        `${prefix}l${i}a`,
        'netns',
        host,
        'type',
        'veth',
        'peer',
        'name',
        `${prefix}l${i}b`,
        'netns',
        nat,
      ]);
      inNs(host, ['ip', 'link', 'set', `${prefix}l${i}a`, 'name', 'lan0']);
      inNs(nat, ['ip', 'link', 'set', `${prefix}l${i}b`, 'name', 'lan0']);
      inNs(host, ['ip', 'addr', 'add', `${lan}.2/24`, 'dev', 'lan0']);
      inNs(nat, ['ip', 'addr', 'add', `${lan}.1/24`, 'dev', 'lan0']);
      inNs(host, ['ip', 'link', 'set', 'lan0', 'up']);
      inNs(nat, ['ip', 'link', 'set', 'lan0', 'up']);
      inNs(host, ['ip', 'route', 'add', 'default', 'via', `${lan}.1`]);
      // nat ↔ pub (WAN)
      ip([
        'link',
        'add',
        `${prefix}w${i}a`,
        'netns',
        nat,
        'type',
        'veth',
        'peer',
        'name',
        `${prefix}w${i}b`,
        'netns',
        server,
      ]);
      inNs(nat, ['ip', 'link', 'set', `${prefix}w${i}a`, 'name', 'wan0']);
      inNs(server, ['ip', 'link', 'set', `${prefix}w${i}b`, 'name', `wan${i}`]);
      inNs(nat, ['ip', 'addr', 'add', `${wanNat}/30`, 'dev', 'wan0']);
      inNs(server, ['ip', 'addr', 'add', `${wanPub}/30`, 'dev', `wan${i}`]);
      inNs(nat, ['ip', 'link', 'set', 'wan0', 'up']);
      inNs(server, ['ip', 'link', 'set', `wan${i}`, 'up']);
      inNs(nat, ['ip', 'route', 'add', 'default', 'via', wanPub]);
      inNs(nat, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      // Masquerade everything leaving the WAN side; inbound passes only for tracked flows (a consumer NAT).
      const mapping = options.mappings?.[i - 1] ?? 'endpoint-independent';
      const masquerade = mapping === 'address-dependent' ? 'masquerade fully-random' : 'masquerade';
      inNs(
        nat,
        ['nft', '-f', '-'],
        [
          'table ip nat {',
          `  chain postrouting { type nat hook postrouting priority srcnat; oifname "wan0" ${masquerade}; }`,
          '}',
          'table ip filter {',
          // Unsolicited packets to the router itself are dropped before conntrack confirms them: an
          // unreplied entry would otherwise take the port a later outbound flow needs (hole punching).
          '  chain input { type filter hook input priority 0; policy accept; iifname "wan0" ct state new drop; }',
          '  chain forward {',
          '    type filter hook forward priority 0; policy drop;',
          '    ct state established,related accept',
          '    iifname "lan0" oifname "wan0" accept',
          '  }',
          '}',
        ].join('\n'),
      );
      hosts.push({ ns: host, address: `${lan}.2`, natAddress: wanNat, mapping });
    }
  } catch (error) {
    destroy();
    throw new NetnsUnavailableError(`could not build the NAT testbed: ${(error as Error).message}`, {
      cause: error,
    });
  }

  return {
    hosts,
    server: { ns: server, address: SERVER_ADDRESS },
    spawnIn: (ns, command, args, spawnOptions = {}) =>
      spawn('ip', ['netns', 'exec', ns, command, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        ...spawnOptions,
      }),
    execIn: (ns, command, args) => inNs(ns, [command, ...args]),
    setPublicLoss(percent) {
      try {
        inNs(server, ['nft', 'delete', 'table', 'inet', 'loss']);
      } catch {
        // no loss table yet
      }
      if (percent <= 0) return;
      inNs(
        server,
        ['nft', '-f', '-'],
        [
          'table inet loss {',
          '  chain prerouting {',
          '    type filter hook prerouting priority -300;',
          `    numgen random mod 100 < ${Math.round(percent)} drop`,
          '  }',
          '}',
        ].join('\n'),
      );
    },
    destroy,
  };
}
