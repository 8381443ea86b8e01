import { ReliabilityError } from '@xpp/reliability';
import type { XppSession } from '@xpp/session-sdp';
import type { Message, XppOption } from '@xpp/wire';
import { statusOf } from '../errors.js';
import type { NodeCounters } from './counters.js';
import type { Rights } from './rights.js';

type Answer = Promise<readonly XppOption[]> | readonly XppOption[];

/** One overlay operation a session serves: its type, the name it is counted by, who may send it, and the work. */
export type OverlayHandler =
  | {
      readonly op: number;
      readonly name: string;
      readonly access: 'open';
      handle(request: Message, session: XppSession): Answer;
    }
  | {
      readonly op: number;
      readonly name: string;
      readonly access: 'neighbour' | 'announcer';
      handle(request: Message, sender: string): Answer;
      /** Lets in a caller that is not a neighbour (any more) for this request, e.g. a LEAVE asked again. */
      alsoFrom?(from: string, request: Message): boolean;
    };

/** What the dispatcher needs of its node. */
export interface DispatchContext {
  readonly counters: NodeCounters;
  readonly rights: Rights;
  /** The neighbour a session leads to, once known. */
  peerOf(session: XppSession): string | undefined;
  /** Settles once the store has committed what the handlers changed (RecordStore.durable). */
  durable?(): Promise<void> | void;
}

/**
 * Registers the overlay's handlers on each session. Every request is checked by the rights first, then handled;
 * the result is counted by operation and status, and a refusal goes back as an error response with its status.
 */
export class Dispatcher {
  readonly #ctx: DispatchContext;
  readonly #handlers: ReadonlyMap<number, OverlayHandler>;

  constructor(ctx: DispatchContext, handlers: readonly OverlayHandler[]) {
    this.#ctx = ctx;
    this.#handlers = new Map(handlers.map((h) => [h.op, h]));
  }

  /**
   * Registers the handlers on `session` as soon as it exists — before it is open, since the peer may send its first
   * request the moment its own side opens. Who the session leads to is looked up per request. One closure per
   * session serves every operation (it finds the handler by the request's type): a closure per operation and
   * session cost ~0.5 KB per session (issue #16).
   */
  serve(session: XppSession): void {
    const serve = (request: Message): Promise<readonly XppOption[]> => {
      const h = this.#handlers.get(request.type) as OverlayHandler;
      return this.#guard(h.name, () => this.#run(h, request, session));
    };
    for (const op of this.#handlers.keys()) session.handle(op, serve);
  }

  #run(h: OverlayHandler, request: Message, session: XppSession): Answer {
    if (h.access === 'open') return h.handle(request, session);
    const from = this.#ctx.peerOf(session);
    const rights = this.#ctx.rights;
    if (from !== undefined && h.alsoFrom?.(from, request) === true) return h.handle(request, from);
    const sender = h.access === 'announcer' ? rights.announcer(from, request) : rights.neighbour(from);
    return h.handle(request, sender);
  }

  async #guard(name: string, run: () => Answer): Promise<readonly XppOption[]> {
    const counters = this.#ctx.counters;
    try {
      const result = await run();
      // No answer leaves before the changes it reports are committed (a store that groups its commits per turn).
      const committed = this.#ctx.durable?.();
      if (committed !== undefined) await committed;
      counters.count(counters.handled, name, 'ok');
      return result;
    } catch (error) {
      const status = statusOf(error);
      counters.count(counters.handled, name, String(status));
      throw new ReliabilityError('ERROR_RESPONSE', (error as Error).message.slice(0, 512), { status });
    }
  }
}
