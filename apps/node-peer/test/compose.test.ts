import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// No Docker engine here: the compose file is read as `docker compose config` would (YAML merge keys resolved,
// short volume and port syntax) and its exposure checked.
interface Service {
  readonly command?: string | string[];
  readonly volumes?: string[];
  readonly ports?: string[];
  readonly environment?: Record<string, string>;
  readonly network_mode?: string;
  readonly restart?: string;
}

const compose = parse(readFileSync(fileURLToPath(new URL('../compose.yaml', import.meta.url)), 'utf8'), {
  merge: true,
}) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const services = Object.entries(compose.services);
/** The services running a node (`start` or `join`). */
const peers = services.filter(([, s]) => /xpp-node (start|join)\b/.test([s.command ?? []].flat().join(' ')));

/** `source:target[:mode]` of a short volume entry. */
function mount(entry: string): { source: string; target: string; readOnly: boolean } {
  const [source = '', target = '', mode = ''] = entry.split(':');
  return { source, target, readOnly: mode.split(',').includes('ro') };
}

/** The host address and protocol of a short port entry: `[ip:]host:container[/proto]`. */
function published(entry: string): { hostIp: string | undefined; protocol: string } {
  const [spec = '', protocol = 'tcp'] = entry.split('/');
  const parts = spec.split(':');
  return { hostIp: parts.length === 3 ? parts[0] : undefined, protocol };
}

describe('compose.yaml', () => {
  it('runs five peers, each with a data directory of its own', () => {
    expect(peers.map(([name]) => name).sort()).toEqual(['peer1', 'peer2', 'peer3', 'peer4', 'peer5']);
    const dataVolumes = peers.map(([, s]) => (s.volumes ?? []).map(mount).find((m) => m.target === '/data'));
    for (const volume of dataVolumes) {
      expect(volume).toBeDefined();
      expect(volume!.readOnly).toBe(false);
      expect(Object.keys(compose.volumes)).toContain(volume!.source);
    }
    expect(new Set(dataVolumes.map((v) => v!.source)).size).toBe(peers.length);
    // Nobody else mounts a peer's data directory.
    for (const [name, service] of services) {
      for (const m of (service.volumes ?? []).map(mount)) {
        const owner = peers.find(([, s]) =>
          (s.volumes ?? []).map(mount).some((p) => p.target === '/data' && p.source === m.source),
        );
        if (owner !== undefined) expect(name).toBe(owner[0]);
      }
    }
  });

  it('restarts a peer that exits non-zero (exit 75: it lost its zone and rejoins as a candidate when restarted)', () => {
    for (const [, s] of peers) expect(['always', 'unless-stopped', 'on-failure']).toContain(s.restart);
  });

  it("keeps the administrator key on the administrator's host (peer1) only; the others enroll with a token", () => {
    // Changed with certified membership (spec §5.3: the founding peer holds the admin key and certifies itself):
    // peer1's data volume, mounted by nobody else (above), is the only place the key is; no key volume exists.
    expect(Object.keys(compose.volumes)).not.toContain('admin-key');
    const founder = compose.services['peer1'];
    expect([founder?.command ?? []].flat().join(' ')).toMatch(/xpp-node start\b[\s\S]*xpp-node peer invite/);
    for (const [name, peer] of peers) {
      if (name === 'peer1') continue;
      // Peers read the public key and their token only, read-only, and are never handed a key by environment.
      const mounts = (peer.volumes ?? []).map(mount);
      expect(mounts.find((m) => m.target === '/overlay')).toMatchObject({
        source: 'overlay-pub',
        readOnly: true,
      });
      expect(mounts.find((m) => m.target === '/tokens')).toMatchObject({ source: 'tokens', readOnly: true });
      expect([peer.command ?? []].flat().join(' ')).toMatch(/xpp-node join --via \S+ --token/);
      expect(JSON.stringify(peer.environment ?? {})).not.toMatch(/PRIVATE|admin\.key/i);
    }
  });

  it('publishes HTTP on the host loopback only; only SIP over UDP is public', () => {
    for (const [name, service] of services) {
      for (const entry of service.ports ?? []) {
        const { hostIp, protocol } = published(entry);
        if (protocol === 'udp') continue;
        expect({ name, entry, hostIp }).toEqual({ name, entry, hostIp: '127.0.0.1' });
      }
    }
    // A peer's HTTP binds its loopback unless the file says where (peer1: its container address, for the port).
    for (const [name, peer] of peers) {
      const host = peer.environment?.['XPP_NODE_HTTP_HOST'];
      if (host !== undefined)
        expect({ name, host }).toEqual({ name, host: peer.environment?.['XPP_NODE_HOST'] });
    }
  });
});
