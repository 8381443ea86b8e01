import type { Clock, TimerHandle } from '@xpp/reliability';
import { SessionError } from '../errors.js';
import { abortable } from '../internal/abortable.js';
import type { TransportAddress } from '../sdp/description.js';
import { bodyBytes, type SipBody } from './body.js';
import type { SipCall } from './call.js';
import { createResponse } from './codec.js';
import { SipDialog, dialogId, randomToken } from './dialog.js';
import type { SipRequest, SipResponse } from './message.js';
import { tagOf } from './name-addr.js';
import type { ServerTransaction } from './server-transaction.js';
import type { SipTimerValues } from './timer-set.js';
import { branchOf, parseVia } from './via.js';

/** What an {@link IncomingInvite} needs of the user agent that received it. */
export interface IncomingInviteHooks {
  readonly clock: Clock;
  readonly timers: SipTimerValues;
  readonly contact: string;
  readonly answerTimeoutMs: number;
  register(invite: IncomingInvite): void;
  unregister(invite: IncomingInvite): void;
  establish(dialog: SipDialog): SipCall;
  sendBye(call: SipCall): void;
  resend(response: SipResponse, target: TransportAddress): void;
}

/**
 * An INVITE waiting for the application: {@link accept} with an answer body or {@link reject}. If neither
 * happens within `answerTimeoutMs` it is answered 480, so an idle application cannot pin transactions.
 */
export class IncomingInvite {
  readonly request: SipRequest;
  readonly source: TransportAddress;
  readonly #transaction: ServerTransaction;
  readonly #hooks: IncomingInviteHooks;
  readonly #localTag = randomToken();
  #answered = false;
  #onAck: (() => void) | undefined;
  readonly #answerTimer: TimerHandle;

  constructor(
    request: SipRequest,
    transaction: ServerTransaction,
    source: TransportAddress,
    hooks: IncomingInviteHooks,
  ) {
    this.request = request;
    this.source = source;
    this.#transaction = transaction;
    this.#hooks = hooks;
    hooks.register(this);
    this.#answerTimer = hooks.clock.setTimer(() => this.reject(480), hooks.answerTimeoutMs);
  }

  /** The offer body as UTF-8 text. */
  get offerText(): string {
    return Buffer.from(this.request.body).toString('utf8');
  }

  /** `callId|localTag|remoteTag` of the dialog an accept creates. */
  get dialogId(): string {
    return dialogId(
      this.request.headers.get('call-id') ?? '',
      this.#localTag,
      tagOf(this.request.headers.get('from')) ?? '',
    );
  }

  /**
   * Sends 200 OK with `answer`, retransmits it (T1 doubling to T2) until the ACK, and resolves with the call.
   * Rejects with `SIP_TIMEOUT` after 64×T1 without ACK (and sends BYE, §13.3.1.4), `BAD_SIP` if the INVITE cannot make a dialog (it is
   * answered 400), `ABORTED` (the call is then ended with BYE once the ACK comes).
   */
  accept(answer: SipBody, options: { signal?: AbortSignal } = {}): Promise<SipCall> {
    if (this.#answered)
      return Promise.reject(new SessionError('INVALID_ARGUMENT', 'INVITE already answered'));
    let dialog: SipDialog;
    try {
      dialog = SipDialog.fromUas(this.request, this.#localTag);
    } catch (error) {
      this.reject(400);
      return Promise.reject(error);
    }
    this.#answered = true;
    this.#hooks.clock.clearTimer(this.#answerTimer);
    const ok = createResponse(this.request, 200, {
      toTag: this.#localTag,
      headers: [
        // §12.1.1: a UAS copies Record-Route into its 2xx, so the caller's in-dialog requests (ACK, BYE)
        // follow the proxies that asked to stay on the path (how a peer behind a NAT is reached).
        ...this.request.headers.getAll('record-route').map((route) => ['Record-Route', route] as const),
        ['Contact', this.#hooks.contact],
        ['Content-Type', answer.contentType],
      ],
      body: bodyBytes(answer.body),
    });
    const { clock, timers } = this.#hooks;
    let timer: TimerHandle | undefined;
    let abandoned = false;
    const stop = () => {
      if (timer !== undefined) clock.clearTimer(timer);
      this.#hooks.unregister(this);
    };
    return abortable<SipCall>(
      options.signal,
      (resolve, reject) => {
        const deadline = clock.now() + 64 * timers.T1;
        let interval = timers.T1;
        const retransmit = () => {
          if (clock.now() >= deadline) {
            stop();
            // §13.3.1.4: the dialog is confirmed all the same, and the session is ended with BYE.
            this.#hooks.sendBye(this.#hooks.establish(dialog));
            reject(new SessionError('SIP_TIMEOUT', '2xx to INVITE was never ACKed'));
            return;
          }
          // The UAS core retransmits the 2xx (§13.3.1.4): through the INVITE transaction while it is Accepted
          // (RFC 6026), statelessly once Timer L has ended it.
          if (this.#transaction.state === 'accepted') this.#transaction.respond(ok);
          else this.#hooks.resend(ok, this.#transaction.target);
          interval = Math.min(2 * interval, timers.T2);
          timer = clock.setTimer(retransmit, Math.min(interval, deadline - clock.now()));
        };
        this.#onAck = () => {
          stop();
          const call = this.#hooks.establish(dialog);
          if (abandoned) this.#hooks.sendBye(call);
          else resolve(call);
        };
        this.#transaction.respond(ok);
        timer = clock.setTimer(retransmit, interval);
      },
      () => {
        abandoned = true;
      },
    );
  }

  /** Answers with a final non-2xx status (default 603 Decline). */
  reject(status = 603, reason?: string): void {
    if (this.#answered) return;
    this.#answered = true;
    this.#hooks.clock.clearTimer(this.#answerTimer);
    this.#hooks.unregister(this);
    this.#transaction.respond(
      createResponse(this.request, status, {
        toTag: this.#localTag,
        ...(reason === undefined ? {} : { reason }),
      }),
    );
  }

  /** @internal The ACK of our 2xx arrived. */
  acknowledged(): void {
    const onAck = this.#onAck;
    this.#onAck = undefined;
    onAck?.();
  }

  /** @internal True (and answers the INVITE 487) when `cancel` cancels this still unanswered INVITE. */
  cancelledBy(cancel: SipRequest): boolean {
    const mine = parseVia(this.request.headers.get('via') ?? '');
    const theirs = parseVia(cancel.headers.get('via') ?? '');
    if (this.#answered || mine === undefined || theirs === undefined || branchOf(mine) !== branchOf(theirs))
      return false;
    this.reject(487, 'Request Terminated');
    return true;
  }
}
