import { createSocket, type Socket } from 'node:dgram';
import { parseSipMessage, type SipResponse, type TransportAddress } from '@xpp/session-sdp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeMetrics } from '../src/metrics.js';
import { syncMetrics } from '../src/status.js';
import { waitFor } from '@xpp/reliability/testing';
import { TestOverlay, type TestPeer } from './sipp/overlay.js';

// Attacks on the SIP socket as an outsider makes them: raw UDP from dgram sockets on loopback, where each port is
// its own client (docs/decisions/node-peer-proxy.md, "Overload").

/** A raw SIP socket that keeps every response it gets (parsed when read, so that the flood's answers cost the
 * shared event loop little while the node is being measured). */
class RawClient {
  readonly #received: Buffer[] = [];
  readonly #parsed: SipResponse[] = [];
  #n = 0;
  private constructor(readonly socket: Socket) {
    socket.on('message', (message) => this.#received.push(message));
  }

  /** Every response so far, in arrival order. */
  get responses(): readonly SipResponse[] {
    for (const message of this.#received.splice(0)) {
      try {
        const parsed = parseSipMessage(message);
        if (parsed.kind === 'response') this.#parsed.push(parsed);
      } catch {
        // Not a response: nothing to keep.
      }
    }
    return this.#parsed;
  }

  static async open(): Promise<RawClient> {
    const socket = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new RawClient(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** A request with a fresh branch, tags and Call-ID (so each is a new server transaction). */
  request(method: string, uri: string, from = 'sip:mallory@localhost', to = uri): string {
    const n = ++this.#n;
    const id = `${this.port}-${n}`;
    return [
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.port};branch=z9hG4bK-flood-${id};rport`,
      `From: <${from}>;tag=f${id}`,
      `To: <${to}>`,
      `Call-ID: flood-${id}`,
      `CSeq: 1 ${method}`,
      `Contact: <sip:x@127.0.0.1:${this.port}>`,
      'Max-Forwards: 70',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
  }

  send(datagram: string, to: TransportAddress): void {
    this.socket.send(Buffer.from(datagram), to.port, to.address);
  }

  /**
   * Sends `count` requests made by `make`, 100 at a time every `pauseMs` (the default 5 ms is what a loopback socket
   * buffer takes; 250 ms is the 2 000 in 5 s).
   */
  async flood(count: number, to: TransportAddress, make: (i: number) => string, pauseMs = 5): Promise<void> {
    for (let i = 0; i < count; i++) {
      this.send(make(i), to);
      if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }

  /** The final response to the request whose Call-ID is in `datagram`. */
  async finalTo(datagram: string, ms = 10_000): Promise<SipResponse> {
    const callId = /Call-ID: (\S+)/.exec(datagram)?.[1];
    let found: SipResponse | undefined;
    await waitFor(
      () => {
        found = this.responses.find((r) => r.headers.get('call-id') === callId && r.status >= 200);
        return found !== undefined;
      },
      { timeoutMs: ms },
    );
    return found!;
  }

  close(): void {
    this.socket.close();
  }
}

let overlay: TestOverlay;
let peer: TestPeer;
const raws: RawClient[] = [];
const raw = async (): Promise<RawClient> => {
  const client = await RawClient.open();
  raws.push(client);
  return client;
};

beforeAll(async () => {
  overlay = await TestOverlay.start(2);
  peer = overlay.peers[1]!;
  await overlay.addUser('alice', 'wonderland');
  await overlay.addUser('bob', 'builder');
});
afterAll(async () => {
  for (const client of raws) client.close();
  await overlay.close();
});

describe('overload: a flood from one source denies no one else', () => {
  it('2 000 OPTIONS from one source: another client is answered 401 within 1 s, 503s carry Retry-After, and the drops are counted', async () => {
    const attacker = await raw();
    const client = await raw();
    // OPTIONS for users of the domain are proxied: each would hold a slot for Timer J (32 s). 2 000 in 5 s filled
    // the former 1 024-slot table, and every other client got 503 for half a minute.
    await attacker.flood(
      2_000,
      peer.sip,
      (i) => attacker.request('OPTIONS', `sip:nobody${i}@localhost`),
      250,
    );
    const register = client.request(
      'REGISTER',
      'sip:localhost',
      'sip:alice@localhost',
      'sip:alice@localhost',
    );
    const sent = Date.now();
    client.send(register, peer.sip);
    const answer = await client.finalTo(register);
    expect(answer.status).toBe(401);
    expect(Date.now() - sent).toBeLessThan(1_000);

    await waitFor(() => attacker.responses.some((r) => r.status === 503), { timeoutMs: 10_000 });
    const refusals = attacker.responses.filter((r) => r.status === 503);
    for (const refusal of refusals) expect(Number(refusal.headers.get('retry-after'))).toBeGreaterThan(0);
    const counted = peer.front.stats.rejected['overload-source'] ?? 0;
    expect(counted).toBeGreaterThanOrEqual(refusals.length);
    const metrics = new NodeMetrics({ processMetrics: false });
    syncMetrics(metrics, peer.node, peer.front);
    expect(await metrics.registry.metrics()).toContain(
      `sip_rejected_total{reason="overload-source"} ${counted}`,
    );
  });

  it('OPTIONS to the node itself are answered statelessly: a flood of them holds no transaction', async () => {
    const attacker = await raw();
    const layer = peer.node.ua.layer;
    const before = layer.size;
    await attacker.flood(1_000, peer.sip, () => attacker.request('OPTIONS', 'sip:localhost'));
    await waitFor(() => attacker.responses.filter((r) => r.status === 200).length >= 900, {
      timeoutMs: 10_000,
    });
    expect(attacker.responses.every((r) => r.status === 200)).toBe(true);
    expect(layer.size - before).toBeLessThan(10);
  });

  it('INVITEs and unknown methods flooded from a client’s own address:port leave its REGISTER through', async () => {
    const client = await raw();
    // INVITEs to a user with no binding: each answered 480 and held for Timer H (the flooder never ACKs).
    await client.flood(1_500, peer.sip, (i) =>
      i % 2 === 0
        ? client.request('INVITE', 'sip:bob@localhost')
        : client.request('FOO', 'sip:bob@localhost'),
    );
    await waitFor(() => client.responses.some((r) => r.status === 503), { timeoutMs: 10_000 });
    const register = client.request(
      'REGISTER',
      'sip:localhost',
      'sip:alice@localhost',
      'sip:alice@localhost',
    );
    client.send(register, peer.sip);
    expect((await client.finalTo(register)).status).toBe(401);
    expect(peer.front.stats.rejected['overload-source']).toBeGreaterThan(0);
  });

  it('a neighbour peer’s INVITE reaches its callee while one source floods INVITEs', async () => {
    let offered = 0;
    const bob = await overlay.client(peer, 'sip:bob@localhost', 'builder', '', {
      onInvite: (invite) => {
        offered++;
        invite.reject(486);
      },
    });
    expect((await bob.registrar.register(600)).status).toBe(200);
    const attacker = await raw();
    await attacker.flood(1_500, peer.sip, () => attacker.request('INVITE', 'sip:bob-nobody@localhost'));
    await waitFor(() => attacker.responses.some((r) => r.status === 503), { timeoutMs: 10_000 });
    // The caller asks the other peer, which forwards to this one (the flow peer of bob) from its own SIP port.
    const caller = await raw();
    // From another domain: not challenged (a user of the domain would be, asserted-identity.test.ts).
    const invite = caller.request('INVITE', 'sip:bob@localhost', 'sip:carol@example.com');
    caller.send(invite, overlay.peers[0]!.sip);
    expect((await caller.finalTo(invite)).status).toBe(486);
    expect(offered).toBe(1);
  });
});
