import type { DatagramPort } from '@xpp/reliability';
import { SEAL_OVERHEAD, type SessionCipher } from '../crypto/session-cipher.js';
import { pooledAllocator } from '@xpp/wire';
import type { TransportAddress } from '../sdp/description.js';
import type { DatagramTransport } from '../transport/datagram-transport.js';

/**
 * Sealed datagrams of every session come from one allocator: a sealed copy lives only until the socket has sent
 * it, so sessions need no slab of their own — one per session pinned 8 KiB each, idle or not (about 70 KiB per
 * overlay peer of ~9 sessions, issue #16's RSS figure).
 */
const allocateSealed = pooledAllocator();

/**
 * A session's way out: seals each datagram's payload under its header when the session is secured (spec §7),
 * and sends to the peer's confirmed address, or — until one is confirmed — to every candidate of the peer
 * (spec §4: SYN to every candidate; the first that completes is kept).
 */
export class SessionPort implements DatagramPort {
  sendErrors = 0;
  readonly #transport: DatagramTransport;
  readonly #cipher: SessionCipher | undefined;
  readonly #targets: readonly TransportAddress[];
  #remote: TransportAddress | undefined;

  constructor(
    transport: DatagramTransport,
    targets: readonly TransportAddress[],
    cipher: SessionCipher | undefined,
  ) {
    this.#transport = transport;
    this.#targets = targets;
    this.#cipher = cipher;
  }

  /** Sends only to `address` from now on. */
  bind(address: TransportAddress): void {
    this.#remote = address;
  }

  get remote(): TransportAddress | undefined {
    return this.#remote;
  }

  send(datagram: Uint8Array): void {
    let wire = datagram;
    if (this.#cipher !== undefined) {
      // Sealed into new (shared) slab memory, not over `datagram`: reliability keeps that one for retransmission.
      wire = allocateSealed(datagram.length + SEAL_OVERHEAD);
      try {
        this.#cipher.sealDatagram(datagram, wire);
      } catch {
        // Counter exhausted: nothing more may leave under this key; reliability sees it as loss and gives up.
        this.sendErrors++;
        return;
      }
    }
    const targets = this.#remote === undefined ? this.#targets : [this.#remote];
    for (const target of targets) {
      try {
        this.#transport.send(wire, target);
      } catch {
        this.sendErrors++;
      }
    }
  }
}
