import { networkInterfaces } from 'node:os';
import { Operations, ReliableChannel, systemClock, type Clock } from '@xpp/reliability';
import { decodeFragment, Flag, WireError } from '@xpp/wire';
import { deriveDirectionalKeys, generateXppKeyPair, type XppKeyPair } from '../crypto/keys.js';
import { SessionCipher } from '../crypto/session-cipher.js';
import { LtagAllocator } from '../demux/ltag-allocator.js';
import { SessionTable } from '../demux/session-table.js';
import { SessionError } from '../errors.js';
import { candidateTargets, makeCandidate } from '../sdp/candidate.js';
import { StunBindingTransaction, type StunBindingOptions } from '../stun/binding.js';
import { DEFAULT_STUN_ANSWERS_PER_SECOND, StunResponder } from '../stun/responder.js';
import { UdpSipTransport } from '../sip/udp-transport.js';
import type { DatagramTransport } from '../transport/datagram-transport.js';
import { isStunMessage } from '../stun/codec.js';
import type { TransportAddress, XppCandidate, XppDescription } from '../sdp/description.js';
import { DatagramRelay } from '../relay/datagram-relay.js';
import { SessionPort } from './session-port.js';
import type {
  EndpointDropReason,
  EndpointStats,
  OpenOptions,
  PreparedSession,
  SecurityPolicy,
  XppEndpointOptions,
} from './endpoint-types.js';
import { XppSession } from './xpp-session.js';

const DROP_REASONS: readonly EndpointDropReason[] = [
  'malformed',
  'UNKNOWN_LTAG',
  'PEER_LTAG_MISMATCH',
  'TRUNCATED',
  'REPLAYED',
  'AUTH_FAILED',
  'out-of-window',
  'early-overflow',
];

/** Early datagrams kept per prepared ltag until its session opens (a peer's SYN may beat our answer's handling). */
const MAX_EARLY = 4;
/** How far a plaintext fragment's sequence number may be from the last one seen to move the session to a new address. */
const REBIND_WINDOW_BEHIND = 1024;
const REBIND_WINDOW_AHEAD = 16384;

interface Row {
  readonly session: XppSession;
  readonly channel: ReliableChannel;
  readonly cipher: SessionCipher | undefined;
  readonly port: SessionPort;
  /** The peer's last sequence number seen (plaintext rebinding check). */
  peerSeq: number | undefined;
}

/**
 * An XPP endpoint (spec §2, §4, §7): one UDP socket serving many sessions, demultiplexed by ltag, each set up by
 * a simultaneous SYN exchange to every candidate of the peer and sealed with ChaCha20-Poly1305 when both sides
 * gave keys.
 */
export class XppEndpoint {
  readonly address: TransportAddress;
  readonly security: SecurityPolicy;
  /**
   * Sessions between two other endpoints whose datagrams this one forwards on its socket (nothing until allocated;
   * who may allocate is the application's policy, e.g. `@xpp/dht`'s RELAY-CONNECT).
   */
  readonly relay: DatagramRelay;
  readonly #transport: DatagramTransport;
  readonly #stun = new Set<StunBindingTransaction>();
  readonly #stunResponder: StunResponder | undefined;
  readonly #clock: Clock;
  readonly #options: XppEndpointOptions;
  readonly #ltags: LtagAllocator;
  readonly #table: SessionTable<Row>;
  readonly #prepared = new Map<number, { datagram: Uint8Array; source: TransportAddress }[]>();
  readonly #hostAddresses: readonly string[];
  readonly #reflexive: XppCandidate[] = [];
  readonly #drops = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<EndpointDropReason, number>;
  #datagramsReceived = 0;
  #rebinds = 0;
  #authRefused = 0;
  #closed = false;

  private constructor(transport: DatagramTransport, options: XppEndpointOptions) {
    this.#transport = transport;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.security = options.security ?? 'required';
    const maxSessions = options.maxSessions ?? 4096;
    this.#ltags = new LtagAllocator({ clock: this.#clock, maxActive: maxSessions });
    this.#table = new SessionTable<Row>({ maxSessions });
    this.address = { ...transport.local };
    this.#hostAddresses = options.hostAddresses ?? hostAddressesFor(transport.local.address);
    const answers = options.stunAnswersPerSecond ?? DEFAULT_STUN_ANSWERS_PER_SECOND;
    if (!(Number.isFinite(answers) && answers >= 0))
      throw new SessionError('INVALID_ARGUMENT', `stunAnswersPerSecond must be ≥ 0, got ${answers}`);
    this.#stunResponder =
      answers === 0 ? undefined : new StunResponder({ clock: this.#clock, answersPerSecond: answers });
    this.relay = new DatagramRelay({
      clock: this.#clock,
      send: (datagram, to) => transport.send(datagram, to),
      ...(options.relay === undefined ? {} : { limits: options.relay }),
    });
    transport.setReceiver((datagram, source) => this.#onDatagram(datagram, source));
  }

  /** Binds a UDP socket (or adopts `options.transport`) and starts receiving. */
  static async bind(options: XppEndpointOptions = {}): Promise<XppEndpoint> {
    const transport =
      options.transport ??
      (await UdpSipTransport.open({
        address: options.address ?? '127.0.0.1',
        ...(options.port === undefined ? {} : { port: options.port }),
      }));
    return new XppEndpoint(transport, options);
  }

  /** The host addresses this endpoint advertises as candidates (see {@link XppEndpointOptions.hostAddresses}). */
  get hostAddresses(): readonly string[] {
    return this.#hostAddresses;
  }

  /** Adds a server-reflexive address (from SIP `received`/`rport` or STUN) to the candidates of later descriptions. */
  addReflexiveAddress(address: TransportAddress): void {
    if (this.#reflexive.some((c) => c.address === address.address && c.port === address.port)) return;
    this.#reflexive.push(
      makeCandidate('srflx', address, {
        address: this.#hostAddresses[0] ?? this.address.address,
        port: this.address.port,
      }),
    );
  }

  /**
   * Asks a STUN server (RFC 8489) where this endpoint's socket appears from, and advertises that address as a
   * server-reflexive candidate when it differs from the host addresses. Rejects with `STUN_TIMEOUT`, `BAD_STUN`,
   * `ABORTED`.
   */
  async discoverReflexiveAddress(
    server: TransportAddress,
    options: StunBindingOptions = {},
  ): Promise<TransportAddress> {
    this.#assertOpen();
    const transaction = new StunBindingTransaction(
      server,
      (datagram, to) => this.#transport.send(datagram, to),
      {
        clock: this.#clock,
        ...options,
      },
    );
    this.#stun.add(transaction);
    let mapped: TransportAddress;
    try {
      mapped = await transaction.start();
    } finally {
      this.#stun.delete(transaction);
    }
    const isHost = mapped.port === this.address.port && this.#hostAddresses.includes(mapped.address);
    if (!isHost) this.addReflexiveAddress(mapped);
    return mapped;
  }

  /** The server-reflexive addresses learned so far (STUN, or given by {@link addReflexiveAddress}). */
  get reflexiveAddresses(): TransportAddress[] {
    return this.#reflexive.map((c) => ({ address: c.address, port: c.port }));
  }

  /** The candidates every description carries now: host addresses first, then server-reflexive ones. */
  get candidates(): XppCandidate[] {
    return [
      ...this.#hostAddresses.map((address, i) =>
        makeCandidate('host', { address, port: this.address.port }, undefined, 65535 - i),
      ),
      ...this.#reflexive,
    ];
  }

  /** Allocates an ltag and describes this side for an offer or an answer. */
  prepare(): PreparedSession {
    this.#assertOpen();
    const ltag = this.#ltags.allocate();
    this.#prepared.set(ltag, []);
    const candidates = this.candidates;
    const first = candidates[0] ?? { address: this.address.address, port: this.address.port };
    const keyPair = this.security === 'off' ? undefined : this.#newKeyPair(ltag);
    const description: XppDescription = {
      address: first.address,
      port: first.port,
      ltag,
      candidates,
      ...(this.#options.piggybackAcks !== false ? { piggybackAcks: true } : {}),
      ...(keyPair === undefined ? {} : { publicKey: keyPair.publicKey }),
    };
    let settled = false;
    return {
      ltag,
      description,
      open: (remote, options = {}) => {
        if (settled)
          return Promise.reject(
            new SessionError('INVALID_ARGUMENT', `ltag ${ltag} was already opened or cancelled`),
          );
        settled = true;
        return this.#open(ltag, keyPair, remote, options);
      },
      cancel: () => {
        if (settled) return;
        settled = true;
        this.#prepared.delete(ltag);
        this.#ltags.release(ltag);
      },
    };
  }

  #newKeyPair(ltag: number): XppKeyPair {
    try {
      return (this.#options.keyPairs ?? generateXppKeyPair)();
    } catch (error) {
      this.#prepared.delete(ltag);
      this.#ltags.release(ltag);
      throw error;
    }
  }

  /**
   * Counts a session refused because the other side did not authenticate (`authRefused`). `placeXppCall` and
   * `acceptXppCall` call it; signalling of one's own that checks `a=xpp-auth` calls it too.
   */
  countAuthRefused(): void {
    this.#authRefused++;
  }

  /**
   * Whether this endpoint's security policy accepts a session with `remote`: a peer that offers no key is
   * refused under `required`. Check it before answering an offer, so the refusal is a SIP 488, not a failed setup.
   */
  accepts(remote: XppDescription): boolean {
    return this.security !== 'required' || remote.publicKey !== undefined;
  }

  /** The sessions currently set up or open. */
  sessions(): XppSession[] {
    return [...this.#table.values()].map((entry) => entry.session.session);
  }

  get stats(): EndpointStats {
    return {
      datagramsReceived: this.#datagramsReceived,
      sessions: this.#table.size,
      prepared: this.#prepared.size,
      drops: { ...this.#drops },
      rebinds: this.#rebinds,
      authRefused: this.#authRefused,
      stun: this.#stunResponder?.stats ?? {
        answered: 0,
        refused: { malformed: 0, 'not-a-request': 0, 'over-budget': 0 },
      },
    };
  }

  /** Closes every session and the transport. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.relay.close();
    for (const entry of [...this.#table.values()]) entry.session.session.close();
    this.#prepared.clear();
    await this.#transport.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new SessionError('CLOSED', 'endpoint closed');
  }

  async #open(
    ltag: number,
    keyPair: XppKeyPair | undefined,
    remote: XppDescription,
    options: OpenOptions,
  ): Promise<XppSession> {
    const signal = options.signal;
    const early = this.#prepared.get(ltag) ?? [];
    this.#prepared.delete(ltag);
    try {
      this.#assertOpen();
    } catch (error) {
      this.#ltags.release(ltag);
      throw error;
    }
    let cipher: SessionCipher | undefined;
    if (keyPair !== undefined && remote.publicKey !== undefined) {
      cipher = new SessionCipher(
        deriveDirectionalKeys({
          local: keyPair,
          localLtag: ltag,
          remotePublicKey: remote.publicKey,
          remoteLtag: remote.ltag,
        }),
      );
    } else if (!this.accepts(remote)) {
      this.#ltags.release(ltag);
      throw new SessionError(
        'INSECURE_PEER',
        'the peer offered no a=xpp-key and this endpoint requires security',
      );
    }
    const port = new SessionPort(this.#transport, candidateTargets(remote), cipher);
    const channel = new ReliableChannel({
      ...this.#options.channel,
      localId: ltag,
      remoteId: remote.ltag,
      port,
      clock: this.#clock,
      // Only when both descriptions carry a=xpp-ack:piggyback: an older peer would drop the data of such a fragment.
      piggybackAcks: this.#options.piggybackAcks !== false && remote.piggybackAcks === true,
    });
    const operations = new Operations(channel, { ...this.#options.operations, clock: this.#clock });
    const session = new XppSession({
      localLtag: ltag,
      remoteLtag: remote.ltag,
      channel,
      operations,
      port,
      cipherStats: cipher?.stats,
    });
    try {
      this.#table.add({
        localLtag: ltag,
        peerLtag: remote.ltag,
        session: { session, channel, cipher, port, peerSeq: undefined },
      });
    } catch (error) {
      channel.close();
      this.#ltags.release(ltag);
      throw error;
    }
    channel.on('close', () => {
      this.#table.remove(ltag);
      this.#ltags.release(ltag);
    });
    options.onSession?.(session);
    const opened = channel.open(signal === undefined ? {} : { signal });
    for (const { datagram, source } of early) this.#onDatagram(datagram, source);
    try {
      await opened;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const failure =
        code === 'OPEN_TIMEOUT'
          ? new SessionError(
              'SETUP_TIMEOUT',
              `no SYN/ACK exchange with ltag ${remote.ltag} at ${describeTargets(remote)}`,
              { cause: error },
            )
          : code === 'ABORTED'
            ? new SessionError('ABORTED', 'session setup aborted', { cause: error })
            : new SessionError('CLOSED', 'session closed during setup', { cause: error });
      channel.close();
      throw failure;
    }
    return session;
  }

  #answerStun(request: Uint8Array, source: TransportAddress): void {
    const response = this.#stunResponder?.answer(request, source);
    if (response === undefined) return;
    try {
      this.#transport.send(response, source);
    } catch {
      // A closed or failing socket: the asker retransmits, as STUN over UDP expects.
    }
  }

  #onDatagram(msg: Uint8Array, source: TransportAddress): void {
    this.#datagramsReceived++;
    // STUN answers share the socket. An XPP fragment's first octet is 0x1X (version 1), a STUN Binding
    // message's 0x00 or 0x01, so the two never collide, whatever the ltags.
    if ((msg[0] ?? 0xff) < 0x10 && isStunMessage(msg)) {
      // A request (class bits 0) is a neighbour asking where it appears from; anything else may answer ours.
      if (msg[0] === 0 && msg[1] === 1) this.#answerStun(msg, source);
      else for (const transaction of this.#stun) transaction.receive(msg, source);
      return;
    }
    let header;
    try {
      header = decodeFragment(msg);
    } catch (error) {
      if (!WireError.is(error)) throw error;
      this.#drops.malformed++;
      return;
    }
    // A relayed session's datagram (from a latched side, between the allocation's ltags) is not ours to open.
    if (this.relay.forward(msg, header, source)) return;
    const routed = this.#table.route(header, source);
    if (routed.kind === 'drop') {
      const early = routed.reason === 'UNKNOWN_LTAG' ? this.#prepared.get(header.remoteId) : undefined;
      if (early === undefined) this.#drops[routed.reason]++;
      else if (early.length >= MAX_EARLY) this.#drops['early-overflow']++;
      else early.push({ datagram: Uint8Array.from(msg), source });
      return;
    }
    const row = routed.entry.session;
    let datagram = msg;
    if (row.cipher !== undefined) {
      // In place: `msg` is this datagram's own memory (a new buffer per read), used for nothing else.
      const opened = row.cipher.openDatagram(msg);
      if (!opened.ok) {
        this.#drops[opened.reason]++;
        return;
      }
      datagram = opened.datagram;
    } else if (
      !routed.fromKnownAddress &&
      routed.entry.remote !== undefined &&
      !inRebindWindow(row, header)
    ) {
      this.#drops['out-of-window']++;
      return;
    }
    if (carriesOwnSeq(header.flags)) row.peerSeq = header.seq;
    if (!routed.fromKnownAddress) {
      const rebinding = routed.entry.remote !== undefined;
      this.#table.bind(routed.entry.localLtag, source);
      row.port.bind(source);
      if (rebinding) {
        this.#rebinds++;
        row.session.emitRebind(source);
      }
    }
    row.channel.receive(datagram);
  }
}

/** Plaintext sessions move to a new address only for a fragment near the peer's current sequence (spec §2). */
function inRebindWindow(row: Row, header: { flags: number; seq: number }): boolean {
  if (row.peerSeq === undefined || !carriesOwnSeq(header.flags)) return false;
  const ahead = (header.seq - row.peerSeq) & 0xffff;
  return ahead <= REBIND_WINDOW_AHEAD || 0x10000 - ahead <= REBIND_WINDOW_BEHIND;
}

/**
 * Whether a fragment's number is the peer's own: not that of a bare ACK (or KPA|ACK), which is ours; data with a
 * piggybacked ACK (`ACK` with `REL` or `LFR`) keeps its own number.
 */
function carriesOwnSeq(flags: number): boolean {
  return (flags & Flag.ACK) === 0 || ((flags & (Flag.REL | Flag.LFR)) !== 0 && (flags & Flag.KPA) === 0);
}

function describeTargets(remote: XppDescription): string {
  return candidateTargets(remote)
    .map((t) => `${t.address}:${t.port}`)
    .join(', ');
}

function hostAddressesFor(bound: string): string[] {
  if (bound !== '0.0.0.0' && bound !== '::') return [bound];
  const found: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) {
      if (info.internal) continue;
      if (info.family === 'IPv4' || (bound === '::' && !/^fe80:/i.test(info.address)))
        found.push(info.address);
    }
  }
  return found.length > 0 ? found : ['127.0.0.1'];
}
