import { randomUUID } from 'node:crypto';
import type { OverlayNode } from '@xpp/dht';
import { systemClock, type Clock, type TimerHandle } from '@xpp/reliability';
import {
  parseVia as parseViaHeader,
  SessionError,
  type SipResponse,
  type TransportAddress,
} from '@xpp/session-sdp';
import { NodeError } from '../errors.js';
import { RegisterClient } from './register-client.js';

export interface CandidateOptions {
  /** The AOR this candidate registers as (its credential must be in the overlay). */
  readonly aor: string;
  /** Its digest password. */
  readonly password?: string;
  /** Seconds asked for each registration. Default 600; refreshed at 80 % of what the peer granted. */
  readonly expires?: number;
  /** How often to check whether the invitation has made us a peer, ms. Default 200. */
  readonly pollMs?: number;
  readonly clock?: Clock;
  readonly signal?: AbortSignal;
}

/** What {@link registerAsCandidate} resolves with once the node is a peer. */
export interface CandidateResult {
  /** REGISTERs answered 200 before the invitation came. */
  readonly registrations: number;
  /** The peer the candidate registered with. */
  readonly via: TransportAddress;
}

/** `host:port` (IPv6 in brackets) or an address object → an address. */
export function parseVia(via: string | TransportAddress): TransportAddress {
  if (typeof via !== 'string') return via;
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(via.trim());
  const port = Number(match?.[2]);
  if (match === null || !(port >= 1 && port <= 65535))
    throw new NodeError('INVALID_CONFIG', `--via ${JSON.stringify(via)} is not host:port`);
  return { address: match[1] as string, port };
}

/**
 * `join --via`: registers this candidate node's overlay contact, with `+sip.xpp-peer` and an RFC 5626 instance
 * id, at an existing peer (answering its digest challenge), keeps the registration refreshed, and resolves once a
 * peer has invited the node and it serves as a peer (spec §1, §7); then it removes the registration. Rejects with
 * `NodeError` `NOT_RUNNING` when the peer refuses the registration, with `SessionError` `ABORTED` on the signal.
 */
export function registerAsCandidate(
  node: OverlayNode,
  via: string | TransportAddress,
  options: CandidateOptions,
): Promise<CandidateResult> {
  const registrar = parseVia(via);
  const clock = options.clock ?? systemClock;
  const client = new RegisterClient({
    layer: node.ua.layer,
    registrar,
    aor: options.aor,
    contact: `<${node.ua.contactUri}>;+sip.xpp-peer;+sip.instance="<urn:uuid:${randomUUID()}>";reg-id=1`,
    ...(options.password === undefined ? {} : { password: options.password }),
  });
  const expires = options.expires ?? 600;
  const signal = options.signal;
  let registrations = 0;
  return new Promise<CandidateResult>((resolve, reject) => {
    // One refresh timer and one poll timer at a time.
    const timers: { refresh?: TimerHandle; poll?: TimerHandle } = {};
    let done = false;
    const finish = (error?: unknown) => {
      if (done) return;
      done = true;
      if (timers.refresh !== undefined) clock.clearTimer(timers.refresh);
      if (timers.poll !== undefined) clock.clearTimer(timers.poll);
      signal?.removeEventListener('abort', onAbort);
      if (error !== undefined) reject(error);
      else {
        resolve({ registrations, via: registrar });
        void client.register(0).catch(() => undefined);
      }
    };
    const onAbort = () => finish(new SessionError('ABORTED', 'join aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted === true) return onAbort();
    const refresh = async (): Promise<void> => {
      if (done) return;
      try {
        const response = await client.register(expires, signal === undefined ? {} : { signal });
        if (done) return;
        if (response.status !== 200) {
          finish(
            new NodeError(
              'NOT_RUNNING',
              `the peer answered the candidate's REGISTER ${response.status} ${response.reason}`,
            ),
          );
          return;
        }
        registrations++;
        advertiseReflexive(node, response);
        const ours = response.headers.getAll('contact').find((c) => c.includes(node.ua.contactUri));
        const granted = Number(/;expires=(\d+)/.exec(ours ?? '')?.[1] ?? expires);
        timers.refresh = clock.setTimer(() => void refresh(), Math.max(1, granted) * 800);
      } catch (error) {
        finish(error);
      }
    };
    const poll = () => {
      if (done) return;
      if (node.state === 'peer') return finish();
      if (node.state === 'closed')
        return finish(new NodeError('NOT_RUNNING', 'the node closed before it was invited'));
      timers.poll = clock.setTimer(poll, options.pollMs ?? 200);
    };
    void refresh();
    poll();
  });
}

/**
 * Behind a NAT the peer saw the REGISTER come from another address (`received`/`rport`, RFC 3581): that address
 * goes in the node's Contact, so the invitation's ACK and BYE, and its neighbours' calls, come back through the NAT
 * (docs/decisions/dht-nat.md). A candidate on a public address keeps its own.
 */
export function advertiseReflexive(node: OverlayNode, response: SipResponse): void {
  const via = parseViaHeader(response.headers.get('via') ?? '');
  const received = via?.params.get('received');
  const rport = Number(via?.params.get('rport'));
  if (typeof received !== 'string' || received === '' || !(rport > 0)) return;
  // Seen at one of our own addresses (another family of a dual-stack host, say): no NAT between us.
  const own = new Set([
    node.ua.local.address,
    ...node.contact.candidates.filter((c) => c.type === 'host').map((c) => c.address),
  ]);
  if (!own.has(received)) node.ua.advertise({ address: received, port: rport });
}

/** Back-off between rejoin attempts: doubling from the first to the last, ms. */
export const JOIN_BACKOFF_MS = { first: 500, max: 30_000 } as const;

/**
 * Registers as a candidate through each of `via` in turn (`--via`, then the persisted neighbours' SIP addresses)
 * until one peer takes the registration and the node is invited; a peer that refuses or does not answer is left
 * for the next after a back-off doubling up to {@link JOIN_BACKOFF_MS}.max, each miss logged. Never founds.
 */
export async function joinThrough(
  node: OverlayNode,
  via: readonly string[],
  options: CandidateOptions & { readonly logger?: { warn(obj: object, msg: string): void } },
): Promise<CandidateResult> {
  if (via.length === 0) throw new NodeError('INVALID_CONFIG', 'no peer to join through');
  const clock = options.clock ?? systemClock;
  let delay: number = JOIN_BACKOFF_MS.first;
  for (let attempt = 0; ; attempt++) {
    const target = via[attempt % via.length] as string;
    try {
      return await registerAsCandidate(node, target, options);
    } catch (error) {
      if (options.signal?.aborted === true || node.state !== 'candidate') throw error;
      options.logger?.warn(
        { via: target, attempt: attempt + 1, retryInMs: delay, err: error },
        'no peer took the candidate registration; trying the next',
      );
    }
    await new Promise<void>((resolve) => {
      const timer = clock.setTimer(resolve, delay);
      options.signal?.addEventListener('abort', () => {
        clock.clearTimer(timer);
        resolve();
      });
    });
    options.signal?.throwIfAborted();
    delay = Math.min(delay * 2, JOIN_BACKOFF_MS.max);
  }
}
