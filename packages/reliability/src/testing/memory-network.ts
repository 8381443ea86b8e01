import type { ChannelOptions } from '../channel-types.js';
import { ReliableChannel } from '../channel.js';
import { type Clock, systemClock } from '../clock.js';
import { seededRandom } from '../internal/random.js';
import type { DatagramPort } from '../port.js';

export interface MemoryNetworkOptions {
  /** Drives delivery. A {@link FakeClock} makes whole simulations run without sleeping. Default the system clock. */
  readonly clock?: Clock;
  /** One-way delay in ms. Default 0 (delivered after the current turn). */
  readonly latency?: number;
  /** Probability in [0, 1] that a datagram is lost. Default 0. */
  readonly loss?: number;
  /** Seed of the loss pattern. Default 1. */
  readonly seed?: number;
}

export type DatagramListener = (datagram: Uint8Array, from: string) => void;

/** One address on a {@link MemoryNetwork}. */
export interface MemoryEndpoint {
  readonly address: string;
  send(to: string, datagram: Uint8Array): void;
  /** A {@link DatagramPort} that sends to `to`. */
  portTo(to: string): DatagramPort;
  close(): void;
}

/**
 * An in-memory datagram network for scale simulations: the very same channels and upper layers run over it
 * as over UDP, with seeded loss and a fixed latency, thousands of endpoints in one process. Datagrams are
 * copied on send, as a real network would.
 */
export class MemoryNetwork {
  readonly #clock: Clock;
  readonly #latency: number;
  readonly #loss: number;
  readonly #random: () => number;
  readonly #endpoints = new Map<string, DatagramListener>();
  delivered = 0;
  dropped = 0;

  constructor(options: MemoryNetworkOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#latency = options.latency ?? 0;
    this.#loss = options.loss ?? 0;
    this.#random = seededRandom(options.seed ?? 1);
  }

  /** Claims `address`; datagrams sent to it go to `listener`. */
  bind(address: string, listener: DatagramListener): MemoryEndpoint {
    if (this.#endpoints.has(address)) throw new Error(`address ${address} is already bound`);
    this.#endpoints.set(address, listener);
    return {
      address,
      send: (to, datagram) => this.#send(address, to, datagram),
      portTo: (to) => ({ send: (datagram) => this.#send(address, to, datagram) }),
      close: () => {
        if (this.#endpoints.get(address) === listener) this.#endpoints.delete(address);
      },
    };
  }

  #send(from: string, to: string, datagram: Uint8Array): void {
    if (this.#loss > 0 && this.#random() < this.#loss) {
      this.dropped++;
      return;
    }
    const copy = Uint8Array.from(datagram);
    this.#clock.setTimer(() => {
      const listener = this.#endpoints.get(to);
      if (listener === undefined) {
        this.dropped++;
        return;
      }
      this.delivered++;
      listener(copy, from);
    }, this.#latency);
  }
}

/**
 * Two channels joined over `network` at addresses `a` and `b`, with ltags 1 and 2: the shortest way to a
 * session for tests and simulations. `options` applies to both sides; open them with `open()`.
 */
export function memoryChannelPair(
  network: MemoryNetwork,
  options: Omit<ChannelOptions, 'port' | 'localId' | 'remoteId'> = {},
  addresses: readonly [string, string] = ['a', 'b'],
): [ReliableChannel, ReliableChannel] {
  const [a, b] = addresses;
  // The ports are only used once the channels send, after both endpoints exist.
  const left = new ReliableChannel({
    ...options,
    localId: 1,
    remoteId: 2,
    port: { send: (d) => endA.send(b, d) },
  });
  const right = new ReliableChannel({
    ...options,
    localId: 2,
    remoteId: 1,
    port: { send: (d) => endB.send(a, d) },
  });
  const endA = network.bind(a, (d) => left.receive(d));
  const endB = network.bind(b, (d) => right.receive(d));
  left.on('close', () => endA.close());
  right.on('close', () => endB.close());
  return [left, right];
}
