import { SessionError, abortError } from '../errors.js';
import { ownString } from '../internal/own-string.js';
import type { TransportAddress } from '../sdp/description.js';
import type { SipDialog } from './dialog.js';
import type { SipRequest, SipResponse } from './message.js';

/** Why a call ended. */
export type CallEndReason =
  /** We sent BYE. */
  | 'local-bye'
  /** The peer sent BYE. */
  | 'remote-bye'
  /** The user agent was closed. */
  | 'closed';

/** What a call needs from its user agent to send BYE. */
export interface CallOwner {
  sendBye(call: SipCall, signal: AbortSignal | undefined): Promise<SipResponse>;
  forget(call: SipCall): void;
}

/** An established INVITE dialog: the bodies exchanged and the way to end it. */
export class SipCall {
  readonly role: 'uac' | 'uas';
  readonly dialog: SipDialog;
  /** The peer's offer (UAS) or answer (UAC) body and its Content-Type. */
  readonly remoteBody: Uint8Array;
  readonly remoteContentType: string | undefined;
  /**
   * UAC only: our address as the peer saw it — `received`/`rport` of the 2xx's top Via (RFC 3581). A
   * server-reflexive candidate when it differs from the local address.
   */
  readonly reflexive: TransportAddress | undefined;
  /** Settles once when the call ends, never rejects. */
  readonly ended: Promise<CallEndReason>;
  /** The ACK of our INVITE's 2xx, sent again on each 2xx retransmission (UAC). */
  readonly ack: SipRequest | undefined;
  #end: (reason: CallEndReason) => void = () => undefined;
  #endReason: CallEndReason | undefined;
  readonly #owner: CallOwner;

  constructor(init: {
    role: 'uac' | 'uas';
    dialog: SipDialog;
    remote: SipRequest | SipResponse;
    reflexive?: TransportAddress;
    ack?: SipRequest;
    owner: CallOwner;
  }) {
    this.role = init.role;
    this.dialog = init.dialog;
    this.remoteBody = init.remote.body;
    const contentType = init.remote.headers.get('content-type');
    this.remoteContentType = contentType === undefined ? undefined : ownString(contentType);
    this.reflexive = init.reflexive;
    this.ack = init.ack;
    this.#owner = init.owner;
    this.ended = new Promise((resolve) => {
      this.#end = resolve;
    });
  }

  /** The body as UTF-8 text (an SDP answer or offer). */
  get remoteText(): string {
    return Buffer.from(this.remoteBody).toString('utf8');
  }

  get endReason(): CallEndReason | undefined {
    return this.#endReason;
  }

  /**
   * Sends BYE and waits for its final response. The call counts as ended as soon as BYE is sent. Rejects with
   * `SIP_TIMEOUT`, `SIP_REJECTED` (non-2xx, the call is still over), `ABORTED`.
   */
  async bye(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (options.signal?.aborted === true) throw abortError(options.signal);
    if (this.#endReason !== undefined) return;
    const response = this.#owner.sendBye(this, options.signal);
    this.markEnded('local-bye');
    const final = await response;
    if (final.status >= 300) {
      throw new SessionError('SIP_REJECTED', `BYE answered ${final.status}`, { status: final.status });
    }
  }

  /** Records the end once and releases the call from its user agent. */
  markEnded(reason: CallEndReason): void {
    if (this.#endReason !== undefined) return;
    this.#endReason = reason;
    this.#owner.forget(this);
    this.#end(reason);
  }
}
