import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { SessionError } from '../errors.js';
import { ownString } from '../internal/own-string.js';
import type { TransportAddress } from '../sdp/description.js';
import { MAX_CSEQ, parseCSeq } from './codec.js';
import { SipHeaders } from './headers.js';
import type { SipRequest, SipResponse } from './message.js';
import { parseNameAddr, tagOf } from './name-addr.js';
import { parseSipUri } from './uri.js';

/** A random tag or Call-ID part: 72 bits, URL-safe. */
export function randomToken(): string {
  return randomBytes(9).toString('base64url');
}

/** The fields of a dialog (RFC 3261 §12). */
export interface DialogState {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  /** Our From (UAC) or To (UAS) value, with our tag. */
  readonly local: string;
  /** The peer's value, with its tag. */
  readonly remote: string;
  /** The peer's Contact URI: where in-dialog requests go. */
  readonly remoteTarget: string;
  /** Route set, in the order Route headers are sent; only loose routers (`;lr`) are followed. */
  readonly routeSet: readonly string[];
}

/** A dialog: identifiers, CSeq spaces, remote target and route set; builds in-dialog requests. */
export class SipDialog {
  readonly state: DialogState;
  #localSeq: number;
  #remoteSeq: number | undefined;

  private constructor(state: DialogState, localSeq: number, remoteSeq: number | undefined) {
    // Kept for the dialog's life: copies, not slices of the message they were read from.
    this.state = {
      callId: ownString(state.callId),
      localTag: ownString(state.localTag),
      remoteTag: ownString(state.remoteTag),
      local: ownString(state.local),
      remote: ownString(state.remote),
      remoteTarget: ownString(state.remoteTarget),
      routeSet: state.routeSet.map(ownString),
    };
    this.#localSeq = localSeq;
    this.#remoteSeq = remoteSeq;
  }

  /** §12.1.2: the UAC's dialog from its INVITE and a 2xx. Throws `BAD_SIP` if the 2xx cannot make one. */
  static fromUac(invite: SipRequest, response: SipResponse): SipDialog {
    const remoteTag = tagOf(response.headers.get('to'));
    const localTag = tagOf(invite.headers.get('from'));
    const contact = parseNameAddr(response.headers.get('contact') ?? '');
    if (remoteTag === undefined || localTag === undefined || contact === undefined) {
      throw new SessionError('BAD_SIP', '2xx to INVITE lacks a To tag or Contact');
    }
    return new SipDialog(
      {
        callId: invite.headers.get('call-id') ?? '',
        localTag,
        remoteTag,
        local: invite.headers.get('from') ?? '',
        remote: response.headers.get('to') ?? '',
        remoteTarget: contact.uri,
        routeSet: response.headers.getAll('record-route').reverse(),
      },
      parseCSeq(invite.headers.get('cseq'))?.seq ?? 1,
      undefined,
    );
  }

  /** §12.1.1: the UAS's dialog from an INVITE it answers 2xx with `localTag`. */
  static fromUas(invite: SipRequest, localTag: string): SipDialog {
    const contact = parseNameAddr(invite.headers.get('contact') ?? '');
    const remoteTag = tagOf(invite.headers.get('from'));
    if (contact === undefined || remoteTag === undefined) {
      throw new SessionError('BAD_SIP', 'INVITE lacks a From tag or Contact');
    }
    return new SipDialog(
      {
        callId: invite.headers.get('call-id') ?? '',
        localTag,
        remoteTag,
        local: `${invite.headers.get('to') ?? ''};tag=${localTag}`,
        remote: invite.headers.get('from') ?? '',
        remoteTarget: contact.uri,
        routeSet: invite.headers.getAll('record-route'),
      },
      randomCSeqStart(),
      parseCSeq(invite.headers.get('cseq'))?.seq,
    );
  }

  /** `callId|localTag|remoteTag`. */
  get id(): string {
    return dialogId(this.state.callId, this.state.localTag, this.state.remoteTag);
  }

  /**
   * An in-dialog request (§12.2.1.1). `ACK` reuses `ackSeq` (the INVITE's number); other methods take the next
   * local CSeq. `via` is the layer's new Via.
   */
  createRequest(
    method: string,
    via: string,
    options: { ackSeq?: number; contact?: string } = {},
  ): SipRequest {
    let seq: number;
    if (method === 'ACK') {
      seq = options.ackSeq ?? this.#localSeq;
    } else {
      if (this.#localSeq >= MAX_CSEQ)
        throw new SessionError('INVALID_ARGUMENT', 'local CSeq space exhausted');
      seq = ++this.#localSeq;
    }
    const headers = new SipHeaders()
      .append('Via', via)
      .append('Max-Forwards', '70')
      .append('From', this.state.local)
      .append('To', this.state.remote)
      .append('Call-ID', this.state.callId)
      .append('CSeq', `${seq} ${method}`);
    for (const route of this.state.routeSet) headers.append('Route', route);
    if (options.contact !== undefined) headers.append('Contact', options.contact);
    return { kind: 'request', method, uri: this.state.remoteTarget, headers, body: new Uint8Array(0) };
  }

  /**
   * §12.2.2: records the CSeq of an in-dialog request from the peer; false when it is lower than one seen
   * (a reordered or replayed request, answered 500).
   */
  acceptRemoteSeq(request: SipRequest): boolean {
    const seq = parseCSeq(request.headers.get('cseq'))?.seq;
    if (seq === undefined) return false;
    if (this.#remoteSeq !== undefined && seq < this.#remoteSeq) return false;
    this.#remoteSeq = seq;
    return true;
  }

  /** Where in-dialog requests are sent: the first loose route or the remote target (IP literals only). */
  nextHop(): TransportAddress {
    return uriAddress(parseNameAddr(this.state.routeSet[0] ?? '')?.uri ?? this.state.remoteTarget);
  }
}

/** The transport address of a SIP URI with an IP-literal host; this stack does not resolve names. */
export function uriAddress(text: string): TransportAddress {
  const uri = parseSipUri(text);
  if (uri === undefined || isIP(uri.host) === 0) {
    throw new SessionError('INVALID_ARGUMENT', `${text} is not a SIP URI with an IP address`);
  }
  return { address: uri.host, port: uri.port ?? 5060 };
}

export function dialogId(callId: string, localTag: string, remoteTag: string): string {
  return `${callId}|${localTag}|${remoteTag}`;
}

/** §8.1.1.5 recommends a start below 2^31 that leaves room; small random values keep it readable. */
function randomCSeqStart(): number {
  return 1 + (randomBytes(2).readUInt16BE(0) % 10_000);
}
