import {
  parseSipMessage,
  type DatagramReceiver,
  type SipMessage,
  type SipTransport,
  type TransportAddress,
} from '../../src/index.js';

/** Records what a SIP layer sends, with the manual clock's time; lets a test inject datagrams. */
export class CaptureTransport implements SipTransport {
  readonly local: TransportAddress = { address: '192.0.2.1', port: 5060 };
  readonly sent: { message: SipMessage; to: TransportAddress; at: number }[] = [];
  #receiver: DatagramReceiver = () => undefined;
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  send(datagram: Uint8Array, to: TransportAddress): void {
    this.sent.push({ message: parseSipMessage(datagram), to, at: this.#now() });
  }

  setReceiver(receiver: DatagramReceiver): void {
    this.#receiver = receiver;
  }

  deliver(text: string, from: TransportAddress = { address: '198.51.100.7', port: 5070 }): void {
    this.#receiver(new TextEncoder().encode(text), from);
  }

  /** Send times of messages matching `filter`. */
  times(filter: (m: SipMessage) => boolean): number[] {
    return this.sent.filter((s) => filter(s.message)).map((s) => s.at);
  }
}
