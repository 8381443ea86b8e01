import {
  ErrorCode,
  type Message,
  MESSAGE_HEADER_SIZE,
  OPTION_HEADER_SIZE,
  Operation,
  Option,
  type Registry,
  WireError,
  type XppOption,
  defaultRegistry,
} from '@xpp/wire';
import type { ReliableChannel } from './channel.js';
import type { ReceivedMessage } from './channel-types.js';
import { type Clock, type TimerHandle, systemClock } from './clock.js';
import { ReliabilityError, abortError } from './errors.js';

/** Node's timers overflow beyond this many milliseconds; a longer deadline means none. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** Default bounds and deadline of request/response operations. */
export const OperationDefaults = {
  /** Requests of this side in flight at once (the operation-number table). */
  maxOperations: 1024,
  /** Incoming requests handled at once; more are answered 503 with RETRY-AFTER. */
  maxConcurrentHandlers: 256,
  /** Milliseconds a request waits for its response (spec §5.2). */
  timeout: 10_000,
  /** Seconds put in RETRY-AFTER when refusing a request for overload. */
  retryAfter: 1,
} as const;

export interface OperationsOptions {
  /** The option types this side knows: a request with an unknown mandatory one is answered 420. */
  readonly registry?: Registry;
  readonly clock?: Clock;
  readonly maxOperations?: number;
  readonly maxConcurrentHandlers?: number;
  /** Default deadline of {@link Operations.request} in ms. */
  readonly timeout?: number;
  /** Answer PING and ECHO-SIZE (spec §3) unless a handler replaces them. Default true. */
  readonly builtins?: boolean;
}

export interface RequestOptions {
  readonly signal?: AbortSignal;
  /** Milliseconds before `REQUEST_TIMEOUT` (`Infinity`: no deadline). Default the operations' `timeout`. */
  readonly timeout?: number;
}

export interface HandlerContext {
  /** Aborted when the operations layer closes. */
  readonly signal: AbortSignal;
}

/**
 * Answers one request with the options of its response. To answer with an error, throw a
 * `ReliabilityError('ERROR_RESPONSE', reason, { status })`; a `WireError` (a bad or missing option) answers
 * 400 and anything else 500.
 */
export type RequestHandler = (
  request: Message,
  context: HandlerContext,
) => readonly XppOption[] | Promise<readonly XppOption[]>;

export interface OperationsStats {
  readonly requestsInFlight: number;
  readonly handling: number;
  readonly requestsSent: number;
  readonly responsesReceived: number;
  readonly requestsHandled: number;
  readonly errorResponsesSent: number;
  /** Responses whose number matches no request in flight (late, duplicate or forged). */
  readonly unmatchedResponses: number;
}

interface PendingRequest {
  readonly type: number;
  readonly timeout: number;
  readonly resolve: (response: Message) => void;
  readonly reject: (error: ReliabilityError) => void;
  readonly signal: AbortSignal | undefined;
  /** When it fails with `REQUEST_TIMEOUT`; Infinity for none. */
  readonly deadline: number;
  onAbort: (() => void) | undefined;
}

/** Reads an Operations' private shutdown signal for {@link Context} (set by the class's static block). */
let shutdownSignalOf: (operations: Operations) => AbortSignal;

/**
 * Request/response operations over one channel (spec §5.2: request → ACK → response → ACK): numbers the
 * requests in a bounded table, matches responses, applies deadlines, maps error responses to typed errors,
 * and dispatches incoming requests to handlers by operation type.
 */
export class Operations {
  readonly #channel: ReliableChannel;
  readonly #registry: Registry;
  readonly #clock: Clock;
  readonly #maxOperations: number;
  readonly #maxHandlers: number;
  readonly #timeout: number;
  readonly #pending = new Map<number, PendingRequest>();
  readonly #handlers = new Map<number, RequestHandler>();
  /**
   * Aborted on close, for handlers that watch it. Made at the first look: a session's operations live as long as
   * it does and few handlers ever ask, and an AbortController with its signal costs ~0.75 KB per session.
   */
  #shutdown: AbortController | undefined;
  #closed = false;
  #closeCause: ReliabilityError | undefined;
  readonly #offMessage: () => void;
  readonly #offClose: () => void;
  #nextNumber: number;
  #deadlineTimer: TimerHandle | undefined;
  #deadlineDue = Number.POSITIVE_INFINITY;
  #handling = 0;
  readonly #stats = {
    requestsSent: 0,
    responsesReceived: 0,
    requestsHandled: 0,
    errorResponsesSent: 0,
    unmatchedResponses: 0,
  };

  constructor(channel: ReliableChannel, options: OperationsOptions = {}) {
    this.#channel = channel;
    this.#registry = options.registry ?? defaultRegistry;
    this.#clock = options.clock ?? systemClock;
    this.#maxOperations = options.maxOperations ?? OperationDefaults.maxOperations;
    this.#maxHandlers = options.maxConcurrentHandlers ?? OperationDefaults.maxConcurrentHandlers;
    this.#timeout = options.timeout ?? OperationDefaults.timeout;
    this.#nextNumber = Math.floor(Math.random() * 0x100000000);
    if (options.builtins !== false) {
      this.#handlers.set(Operation.PING.type, answerPing);
      this.#handlers.set(Operation.ECHO_SIZE.type, answerEchoSize);
    }
    this.#offMessage = channel.on('message', (received) => this.#onMessage(received));
    this.#offClose = channel.on('close', (error) => this.close(error));
  }

  /**
   * Sends a request of operation `type` and resolves with its response. Rejects with `REQUEST_TIMEOUT`,
   * `ERROR_RESPONSE` (with `status`, and for 420 `unknownOptions`), `TOO_MANY_OPERATIONS`, `ABORTED`, or the
   * channel's own failure.
   */
  request(type: number, options: readonly XppOption[] = [], init: RequestOptions = {}): Promise<Message> {
    const signal = init.signal;
    if (signal?.aborted === true) return Promise.reject(abortError(signal, 'request'));
    if (this.#closed) {
      return Promise.reject(new ReliabilityError('CLOSED', 'operations closed'));
    }
    if (this.#pending.size >= this.#maxOperations) {
      return Promise.reject(
        new ReliabilityError('TOO_MANY_OPERATIONS', `${this.#pending.size} requests already in flight`),
      );
    }
    const number = this.#allocateNumber();
    const timeout = init.timeout ?? this.#timeout;
    const promise = new Promise<Message>((resolve, reject) => {
      this.#pending.set(number, {
        type,
        timeout,
        resolve,
        reject,
        deadline: timeout < MAX_TIMER_DELAY ? this.#clock.now() + timeout : Number.POSITIVE_INFINITY,
        signal,
        onAbort: undefined,
      });
    });
    const entry = this.#pending.get(number) as PendingRequest;
    this.#watchDeadline(entry.deadline);
    if (signal !== undefined) {
      entry.onAbort = () => this.#finish(number, abortError(signal, `request ${number}`));
      signal.addEventListener('abort', entry.onAbort, { once: true });
    }
    this.#stats.requestsSent++;
    this.#channel.send({ number, response: false, type, options }).catch((error: unknown) => {
      this.#finish(
        number,
        ReliabilityError.is(error)
          ? error
          : new ReliabilityError('CLOSED', 'request could not be sent', { cause: error }),
      );
    });
    return promise;
  }

  /** Sets the handler for requests of `type` (replacing any). Returns a function that removes it. */
  handle(type: number, handler: RequestHandler): () => void {
    this.#handlers.set(type, handler);
    return () => {
      if (this.#handlers.get(type) === handler) this.#handlers.delete(type);
    };
  }

  get stats(): OperationsStats {
    return { requestsInFlight: this.#pending.size, handling: this.#handling, ...this.#stats };
  }

  /** Fails every request in flight (`CLOSED`), aborts running handlers and detaches from the channel. */
  close(cause?: ReliabilityError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeCause = cause;
    this.#shutdown?.abort(cause);
    this.#offMessage();
    this.#offClose();
    const error = new ReliabilityError('CLOSED', cause === undefined ? 'operations closed' : cause.message, {
      cause,
    });
    for (const number of [...this.#pending.keys()]) this.#finish(number, error);
    if (this.#deadlineTimer !== undefined) this.#clock.clearTimer(this.#deadlineTimer);
    this.#deadlineTimer = undefined;
  }

  /** Settles request `number` once: with its response, or with `outcome` as the error. */
  #finish(number: number, outcome: Message | ReliabilityError): void {
    const entry = this.#pending.get(number);
    if (entry === undefined) return;
    this.#pending.delete(number);
    if (entry.onAbort !== undefined) entry.signal?.removeEventListener('abort', entry.onAbort);
    if (outcome instanceof Error) entry.reject(outcome);
    else entry.resolve(outcome);
  }

  /**
   * One timer serves every deadline: armed for the earliest, left alone when a later one is added (the usual case,
   * as deadlines mostly share one timeout), so a request costs no timer call of its own.
   */
  #watchDeadline(deadline: number): void {
    if (deadline === Number.POSITIVE_INFINITY || deadline >= this.#deadlineDue) return;
    if (this.#deadlineTimer !== undefined) this.#clock.clearTimer(this.#deadlineTimer);
    this.#deadlineDue = deadline;
    this.#deadlineTimer = this.#clock.setTimer(() => this.#expireDue(), deadline - this.#clock.now());
  }

  /** Fails the requests whose deadline has passed (at most `maxOperations` to look at) and re-arms. */
  #expireDue(): void {
    this.#deadlineTimer = undefined;
    this.#deadlineDue = Number.POSITIVE_INFINITY;
    const now = this.#clock.now();
    let next = Number.POSITIVE_INFINITY;
    for (const [number, entry] of [...this.#pending]) {
      if (entry.deadline <= now) {
        this.#finish(
          number,
          new ReliabilityError(
            'REQUEST_TIMEOUT',
            `request ${number} (type ${entry.type}) got no response in ${entry.timeout} ms`,
          ),
        );
      } else if (entry.deadline < next) next = entry.deadline;
    }
    if (!this.#closed) this.#watchDeadline(next);
  }

  #allocateNumber(): number {
    let n = this.#nextNumber;
    while (this.#pending.has(n)) n = (n + 1) >>> 0;
    this.#nextNumber = (n + 1) >>> 0;
    return n;
  }

  #onMessage({ message }: ReceivedMessage): void {
    if (message.response) this.#onResponse(message);
    else this.#onRequest(message);
  }

  #onResponse(response: Message): void {
    const entry = this.#pending.get(response.number);
    if (entry === undefined || entry.type !== response.type) {
      this.#stats.unmatchedResponses++;
      return;
    }
    this.#stats.responsesReceived++;
    this.#finish(response.number, responseError(response) ?? response);
  }

  #onRequest(request: Message): void {
    if (this.#handling >= this.#maxHandlers) {
      this.#respondError(request, ErrorCode.OVERLOADED, 'overloaded', [
        Option.RETRY_AFTER.option(OperationDefaults.retryAfter),
      ]);
      return;
    }
    const unknown = this.#registry.unknownMandatory(request.options);
    if (unknown.length > 0) {
      this.#respondError(request, ErrorCode.UNKNOWN_OPTION, 'unknown mandatory option', [
        Option.UNKNOWN_OPTIONS.option(unknown),
      ]);
      return;
    }
    const handler = this.#handlers.get(request.type);
    if (handler === undefined) {
      this.#respondError(request, ErrorCode.NOT_FOUND, `no handler for operation type ${request.type}`);
      return;
    }
    this.#handling++;
    let result: readonly XppOption[] | Promise<readonly XppOption[]>;
    try {
      result = handler(request, new Context(this));
    } catch (error) {
      this.#handling--;
      this.#respondFailure(request, error);
      return;
    }
    if (!(result instanceof Promise)) {
      // A synchronous answer goes out in this same turn: no extra hop on the latency path.
      this.#handling--;
      this.#respond(request, result);
      return;
    }
    result.then(
      (options) => {
        this.#handling--;
        this.#respond(request, options);
      },
      (error: unknown) => {
        this.#handling--;
        this.#respondFailure(request, error);
      },
    );
  }

  static {
    shutdownSignalOf = (operations) => operations.#shutdownSignal();
  }

  /** The signal handlers see: aborted (with the close's cause) once these operations close. */
  #shutdownSignal(): AbortSignal {
    if (this.#shutdown === undefined) {
      this.#shutdown = new AbortController();
      if (this.#closed) this.#shutdown.abort(this.#closeCause);
    }
    return this.#shutdown.signal;
  }

  #respond(request: Message, options: readonly XppOption[]): void {
    if (this.#closed) return;
    this.#stats.requestsHandled++;
    this.#channel.send({ number: request.number, response: true, type: request.type, options }).catch(() => {
      // The channel counts and reports its own failures; a lost response is the requester's timeout.
    });
  }

  #respondFailure(request: Message, error: unknown): void {
    if (ReliabilityError.is(error) && error.code === 'ERROR_RESPONSE' && error.status !== undefined) {
      this.#respondError(request, error.status, error.message);
    } else if (WireError.is(error)) {
      this.#respondError(request, ErrorCode.BAD_REQUEST, error.message);
    } else {
      this.#respondError(request, ErrorCode.INTERNAL, 'internal error');
    }
  }

  #respondError(request: Message, code: number, reason: string, extra: readonly XppOption[] = []): void {
    this.#stats.errorResponsesSent++;
    this.#respond(request, [Option.ERROR.option({ code, reason: reason.slice(0, 200) }), ...extra]);
  }
}

/** The built-in PING handler (spec §3): echoes DATA. Shared by every session, as is ECHO-SIZE's. */
function answerPing(request: Message): readonly XppOption[] {
  const data = Option.DATA.find(request.options);
  return data === undefined ? [] : [Option.DATA.option(data)];
}

/** The built-in ECHO-SIZE handler (spec §3): answers DATA of the SIZE asked for. */
function answerEchoSize(request: Message): readonly XppOption[] {
  const size = Option.SIZE.require(request.options);
  // The response must fit a message: its header, one option header and the data.
  const limit = 0xffff;
  if (size > limit || MESSAGE_HEADER_SIZE + OPTION_HEADER_SIZE + size > 256 * 1024) {
    throw new ReliabilityError('ERROR_RESPONSE', `ECHO-SIZE of ${size} octets is too large`, {
      status: ErrorCode.TOO_LARGE,
    });
  }
  return [Option.DATA.option(new Uint8Array(size))];
}
/** A handler's context: its signal is made only when a handler reads it. */
class Context implements HandlerContext {
  readonly #operations: Operations;

  constructor(operations: Operations) {
    this.#operations = operations;
  }

  get signal(): AbortSignal {
    return shutdownSignalOf(this.#operations);
  }
}

/** The typed error an error response stands for, or undefined for a success. */
function responseError(response: Message): ReliabilityError | undefined {
  let value;
  try {
    value = Option.ERROR.find(response.options);
  } catch (cause) {
    return new ReliabilityError('ERROR_RESPONSE', 'error response with an unreadable ERROR option', {
      status: ErrorCode.INTERNAL,
      cause,
    });
  }
  if (value === undefined) return undefined;
  let unknownOptions: readonly number[] | undefined;
  let retryAfter: number | undefined;
  try {
    unknownOptions = Option.UNKNOWN_OPTIONS.find(response.options);
    retryAfter = Option.RETRY_AFTER.find(response.options);
  } catch {
    // Malformed extras do not hide the error code itself.
  }
  return new ReliabilityError('ERROR_RESPONSE', `peer answered ${value.code}: ${value.reason}`, {
    status: value.code,
    ...(unknownOptions === undefined ? {} : { unknownOptions }),
    ...(retryAfter === undefined ? {} : { retryAfter }),
  });
}
