import type { Socket } from 'node:dgram';
import { seededRandom } from '../internal/random.js';
import { type UdpAddress, bindUdp, socketAddress } from '../udp.js';

export interface LossyRelayOptions {
  /** Where datagrams from the client go; datagrams from it go back to the last client seen. */
  readonly target: UdpAddress;
  /** Seed of every random decision, so a failing run can be replayed. Default 1. */
  readonly seed?: number;
  /** Probability a datagram is dropped. Default 0. */
  readonly drop?: number;
  /** Probability a forwarded datagram is sent twice. Default 0. */
  readonly duplicate?: number;
  /** Probability a datagram is held back and sent after the next one in the same direction. Default 0. */
  readonly reorder?: number;
  /** Extra delay in ms, uniform in [0, delay], per datagram. Default 0 (forwarded at once). */
  readonly delay?: number;
  /** Local address to bind. Default `127.0.0.1`, any port. */
  readonly address?: string;
}

export interface LossyRelayStats {
  received: number;
  forwarded: number;
  dropped: number;
  duplicated: number;
  reordered: number;
}

/** A held-back datagram is released after this long even if nothing follows it. */
const REORDER_FLUSH_MS = 5;

/**
 * A userspace UDP relay on loopback that impairs traffic the way real paths do: seeded drop, duplication,
 * reordering and delay, in both directions. Point the client at {@link address}; it forwards to `target`.
 */
export class LossyRelay {
  readonly stats: LossyRelayStats = { received: 0, forwarded: 0, dropped: 0, duplicated: 0, reordered: 0 };
  readonly #socket: Socket;
  readonly #options: LossyRelayOptions;
  readonly #random: () => number;
  readonly #held = new Map<string, { datagram: Buffer; to: UdpAddress; timer: NodeJS.Timeout }>();
  #client: UdpAddress | undefined;

  private constructor(socket: Socket, options: LossyRelayOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#random = seededRandom(options.seed ?? 1);
    socket.on('message', (datagram, from) => this.#onDatagram(datagram, from));
  }

  static async create(options: LossyRelayOptions): Promise<LossyRelay> {
    const socket = await bindUdp({ address: options.address ?? '127.0.0.1' });
    return new LossyRelay(socket, options);
  }

  /** Where clients send. */
  get address(): UdpAddress {
    return socketAddress(this.#socket);
  }

  close(): Promise<void> {
    for (const held of this.#held.values()) clearTimeout(held.timer);
    this.#held.clear();
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }

  #onDatagram(datagram: Buffer, from: UdpAddress): void {
    this.stats.received++;
    const target = this.#options.target;
    const fromTarget = from.port === target.port && from.address === target.address;
    if (!fromTarget) this.#client = { address: from.address, port: from.port };
    const to = fromTarget ? this.#client : target;
    if (to === undefined) return;
    const o = this.#options;
    if ((o.drop ?? 0) > 0 && this.#random() < (o.drop ?? 0)) {
      this.stats.dropped++;
      return;
    }
    const direction = fromTarget ? 'back' : 'forth';
    if ((o.reorder ?? 0) > 0 && !this.#held.has(direction) && this.#random() < (o.reorder ?? 0)) {
      this.stats.reordered++;
      const timer = setTimeout(() => this.#release(direction), REORDER_FLUSH_MS);
      this.#held.set(direction, { datagram, to, timer });
      return;
    }
    this.#forward(datagram, to);
    if ((o.duplicate ?? 0) > 0 && this.#random() < (o.duplicate ?? 0)) {
      this.stats.duplicated++;
      this.#forward(datagram, to);
    }
    this.#release(direction);
  }

  #release(direction: string): void {
    const held = this.#held.get(direction);
    if (held === undefined) return;
    this.#held.delete(direction);
    clearTimeout(held.timer);
    this.#forward(held.datagram, held.to);
  }

  #forward(datagram: Buffer, to: UdpAddress): void {
    const delay = this.#options.delay ?? 0;
    this.stats.forwarded++;
    const send = (): void => {
      try {
        this.#socket.send(datagram, to.port, to.address);
      } catch {
        // The relay is closing: the datagram is lost, as on a real path.
      }
    };
    if (delay > 0) setTimeout(send, this.#random() * delay);
    else send();
  }
}
