import type { Zone } from '@xpp/can';
import { ReliabilityError } from '@xpp/reliability';
import type { XppCall, XppSession } from '@xpp/session-sdp';
import type { Message, XppOption } from '@xpp/wire';
import type { Neighbour, PeerView } from '../../src/node/neighbour-table.js';

/** What a fake session answers a request with: options, or an error response with a status. */
export type FakeAnswer = readonly XppOption[] | { readonly status: number } | 'hang' | 'closed';

/** One request a fake session was sent. */
export interface SentRequest {
  readonly type: number;
  readonly options: readonly XppOption[];
}

/**
 * A stand-in for an XPP session without sockets: records what it is sent and answers as `answer` says (options,
 * an error status as the real session reports it, a closed session, or never), keeps the handlers registered on it, and closes
 * with or without an error as a test says.
 */
export class FakeSession {
  readonly sent: SentRequest[] = [];
  readonly handlers = new Map<number, (request: Message) => Promise<readonly XppOption[]>>();
  answer: (type: number, options: readonly XppOption[]) => FakeAnswer = () => [];
  #open = true;
  readonly #closeListeners: ((error: ReliabilityError | undefined) => void)[] = [];

  get isOpen(): boolean {
    return this.#open;
  }

  get stats(): { channel: { retransmits: number } } {
    return { channel: { retransmits: 0 } };
  }

  request(type: number, options: readonly XppOption[] = []): Promise<Message> {
    this.sent.push({ type, options });
    if (!this.#open) return Promise.reject(new ReliabilityError('CLOSED', 'session closed'));
    const answer = this.answer(type, options);
    if (answer === 'hang') return new Promise<Message>(() => undefined);
    if (answer === 'closed') return Promise.reject(new ReliabilityError('CLOSED', 'session closed'));
    if ('status' in answer)
      return Promise.reject(
        new ReliabilityError('ERROR_RESPONSE', `refused ${answer.status}`, { status: answer.status }),
      );
    return Promise.resolve({ type, options: answer } as unknown as Message);
  }

  handle(type: number, handler: (request: Message) => Promise<readonly XppOption[]>): () => void {
    this.handlers.set(type, handler);
    return () => this.handlers.delete(type);
  }

  on(event: 'close', listener: (error: ReliabilityError | undefined) => void): () => void {
    if (event === 'close') this.#closeListeners.push(listener);
    return () => undefined;
  }

  close(error?: ReliabilityError): void {
    if (!this.#open) return;
    this.#open = false;
    for (const listener of this.#closeListeners.splice(0)) listener(error);
  }

  /** Delivers a request to the handler registered for its type, as the peer would send it. */
  deliver(type: number, options: readonly XppOption[]): Promise<readonly XppOption[]> {
    const handler = this.handlers.get(type);
    if (handler === undefined) return Promise.reject(new Error(`no handler for 0x${type.toString(16)}`));
    return handler({ type, options } as unknown as Message);
  }
}

/** A fake call (SIP dialog and session): `hungUp` tells whether it was hung up. */
export class FakeCall {
  readonly fake = new FakeSession();
  hungUp = false;

  get session(): XppSession {
    return this.fake as unknown as XppSession;
  }

  /** The fake as the node's code types it. */
  get call(): XppCall {
    return this as unknown as XppCall;
  }

  hangUp(): Promise<void> {
    this.hungUp = true;
    this.fake.close();
    return Promise.resolve();
  }
}

/** A neighbour entry as the table would hold it, with hex id `id` (peer id octets derived from it). */
export function fakeNeighbour(id: string, zones: readonly Zone[], init: Partial<Neighbour> = {}): Neighbour {
  return {
    id,
    peerId: new Uint8Array(Buffer.from(id, 'hex')),
    zones,
    contact: { uri: `sip:${id}@10.0.0.1`, candidates: [] },
    version: 1,
    link: undefined,
    waiters: [],
    peers: [],
    connecting: undefined,
    linklessSince: 0,
    failedCalls: 0,
    ...init,
  };
}

/** A peer as another peer's list announces it. */
export function fakeView(id: string, zones: readonly Zone[], version = 1): PeerView {
  return {
    id,
    peerId: new Uint8Array(Buffer.from(id, 'hex')),
    zones,
    contact: { uri: `sip:${id}@10.0.0.1`, candidates: [] },
    version,
  };
}
