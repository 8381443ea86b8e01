import type { DatagramPort } from '@xpp/reliability';
import { FRAGMENT_HEADER_SIZE } from '@xpp/wire';
import type { SessionCipher } from '../crypto/session-cipher.js';
import type { TransportAddress } from '../sdp/description.js';
import type { DatagramTransport } from '../transport/datagram-transport.js';

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
      const header = datagram.subarray(0, FRAGMENT_HEADER_SIZE);
      let sealed: Uint8Array;
      try {
        sealed = this.#cipher.seal(header, datagram.subarray(FRAGMENT_HEADER_SIZE));
      } catch {
        // Counter exhausted: nothing more may leave under this key; reliability sees it as loss and gives up.
        this.sendErrors++;
        return;
      }
      wire = new Uint8Array(FRAGMENT_HEADER_SIZE + sealed.length);
      wire.set(header, 0);
      wire.set(sealed, FRAGMENT_HEADER_SIZE);
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
