import { seededRandom } from '@xpp/reliability/testing';
import type { DatagramReceiver, DatagramTransport, TransportAddress } from '@xpp/session-sdp';

export interface ImpairedTransportOptions {
  /** Probability in [0, 1) that a datagram this transport sends is lost. Default 0. */
  readonly loss?: number;
  /** Seed of the loss pattern, so a failing run replays. Default 1. */
  readonly seed?: number;
}

/** What an {@link ImpairedTransport} let through and what it dropped. */
export interface ImpairedTransportStats {
  sent: number;
  received: number;
  /** Datagrams lost to the configured loss. */
  lost: number;
  /** Datagrams dropped, both ways, after {@link ImpairedTransport.cut}. */
  cut: number;
}

/**
 * A {@link DatagramTransport} in front of another (a UDP socket or an in-memory one) that loses a seeded fraction of
 * what it sends — what a lossy userspace relay on the path does, for every destination at once — and that can be
 * cut: from then on nothing leaves or arrives, silently, the way a crashed host's traffic stops. Sends after a cut
 * do not throw, so the crashed node's own timers run out quietly.
 */
export class ImpairedTransport implements DatagramTransport {
  readonly stats: ImpairedTransportStats = { sent: 0, received: 0, lost: 0, cut: 0 };
  readonly #inner: DatagramTransport;
  readonly #loss: number;
  readonly #random: () => number;
  #cut = false;

  constructor(inner: DatagramTransport, options: ImpairedTransportOptions = {}) {
    const loss = options.loss ?? 0;
    if (!(loss >= 0 && loss < 1)) throw new RangeError(`loss must be in [0, 1), got ${loss}`);
    this.#inner = inner;
    this.#loss = loss;
    this.#random = seededRandom(options.seed ?? 1);
  }

  get local(): TransportAddress {
    return this.#inner.local;
  }

  /** True once {@link cut}. */
  get isCut(): boolean {
    return this.#cut;
  }

  send(datagram: Uint8Array, to: TransportAddress): void {
    if (this.#cut) {
      this.stats.cut++;
      return;
    }
    if (this.#loss > 0 && this.#random() < this.#loss) {
      this.stats.lost++;
      return;
    }
    this.stats.sent++;
    this.#inner.send(datagram, to);
  }

  setReceiver(receiver: DatagramReceiver): void {
    this.#inner.setReceiver((datagram, source) => {
      if (this.#cut) {
        this.stats.cut++;
        return;
      }
      this.stats.received++;
      receiver(datagram, source);
    });
  }

  /** Stops all traffic both ways and releases the socket underneath (a crash: nothing more is said). */
  async cut(): Promise<void> {
    if (this.#cut) return;
    this.#cut = true;
    await this.#inner.close();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
