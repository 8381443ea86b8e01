import {
  decodeSip,
  type DatagramReceiver,
  type SipMessage,
  type SipTransport,
  type TransportAddress,
} from '@xpp/session-sdp';

/** Records what a SIP layer sends, with the manual clock's time; lets a test inject datagrams. */
export class CaptureTransport implements SipTransport {
  readonly local: TransportAddress = { address: '192.0.2.1', port: 5060 };
  readonly sent: { message: SipMessage; to: TransportAddress; at: number }[] = [];
  #receiver: DatagramReceiver = () => undefined;
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Sent datagrams our own strict parser refuses (a 400 echoes a malformed header of the request it answers). */
  readonly unparseable: string[] = [];

  send(datagram: Uint8Array, to: TransportAddress): void {
    const decoded = decodeSip(datagram);
    if (decoded.ok) this.sent.push({ message: decoded.message, to, at: this.#now() });
    else this.unparseable.push(new TextDecoder().decode(datagram));
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
