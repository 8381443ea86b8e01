import { describe, expect, it } from 'vitest';
import {
  SipHeaders,
  SipTransactionLayer,
  TransactionAdmission,
  admissionClassOf,
  createResponse,
  serializeSip,
  statelessToTag,
  type ServerTransaction,
  type SipRequest,
  type TransportAddress,
} from '../src/index.js';
import { CaptureTransport } from './support/capture-transport.js';
import { FakeClock } from '@xpp/fragment/testing';

let sequence = 0;
/** A request from `from` with a fresh branch; `toTag` makes it an in-dialog request. */
function req(method: string, from: TransportAddress, toTag?: string): SipRequest {
  const n = ++sequence;
  const headers = new SipHeaders()
    .append('Via', `SIP/2.0/UDP ${from.address}:${from.port};branch=z9hG4bK-adm-${n}`)
    .append('From', `<sip:a@example.org>;tag=f${n}`)
    .append('To', `<sip:b@example.org>${toTag === undefined ? '' : `;tag=${toTag}`}`)
    .append('Call-ID', `adm-${n}`)
    .append('CSeq', `1 ${method}`)
    .append('Max-Forwards', '70');
  return { kind: 'request', method, uri: 'sip:b@example.org', headers, body: new Uint8Array(0) };
}

const text = (r: SipRequest) => new TextDecoder().decode(serializeSip(r));

const a1 = { address: '198.51.100.7', port: 5060 };
const a2 = { address: '198.51.100.7', port: 5061 };
const b1 = { address: '203.0.113.9', port: 5060 };

describe('TransactionAdmission (pure policy)', () => {
  it('classes requests: REGISTER, INVITE, in-dialog and CANCEL are priority; the rest is other', () => {
    expect(admissionClassOf(req('REGISTER', a1))).toBe('register');
    expect(admissionClassOf(req('INVITE', a1))).toBe('invite');
    expect(admissionClassOf(req('INVITE', a1, 'x'))).toBe('dialog');
    expect(admissionClassOf(req('BYE', a1, 'x'))).toBe('dialog');
    expect(admissionClassOf(req('CANCEL', a1))).toBe('dialog');
    expect(admissionClassOf(req('OPTIONS', a1))).toBe('other');
    expect(admissionClassOf(req('FOO', a1))).toBe('other');
  });

  it('bounds each class per source: a flood of one class leaves the others of the same source alone', () => {
    const policy = new TransactionAdmission({ perSource: 3, otherPerSource: 2, retryAfterS: 7 });
    for (let i = 0; i < 2; i++) expect(policy.admit(req('OPTIONS', a1), a1).admitted).toBe(true);
    expect(policy.admit(req('OPTIONS', a1), a1)).toEqual({
      admitted: false,
      reason: 'source',
      retryAfterS: 7,
    });
    for (let i = 0; i < 3; i++) expect(policy.admit(req('INVITE', a1), a1).admitted).toBe(true);
    expect(policy.admit(req('INVITE', a1), a1)).toMatchObject({ admitted: false, reason: 'source' });
    expect(policy.admit(req('REGISTER', a1), a1).admitted).toBe(true);
    expect(policy.admit(req('BYE', a1, 't'), a1).admitted).toBe(true);
    // Another port of the same address is another client.
    expect(policy.admit(req('OPTIONS', a2), a2).admitted).toBe(true);
  });

  it('bounds each class per address across ports, except on loopback where each port is a client', () => {
    const policy = new TransactionAdmission({ perAddress: 2, otherPerAddress: 1 });
    expect(policy.admit(req('OPTIONS', a1), a1).admitted).toBe(true);
    expect(policy.admit(req('OPTIONS', a2), a2)).toMatchObject({ admitted: false, reason: 'address' });
    expect(policy.admit(req('INVITE', a1), a1).admitted).toBe(true);
    expect(policy.admit(req('INVITE', a2), a2).admitted).toBe(true);
    expect(policy.admit(req('INVITE', a2), a2)).toMatchObject({ admitted: false, reason: 'address' });
    expect(policy.admit(req('INVITE', b1), b1).admitted).toBe(true);
    for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
      for (let port = 1; port <= 3; port++)
        expect(policy.admit(req('OPTIONS', { address, port }), { address, port }).admitted).toBe(true);
    }
  });

  it('keeps the reserve for priority classes, and each priority class leaves the reserve to the others', () => {
    const policy = new TransactionAdmission({ total: 6, reserved: 2, perAddress: 100, otherPerAddress: 100 });
    let port = 1;
    const next = () => ({ address: '192.0.2.1', port: port++ });
    for (let i = 0; i < 4; i++) expect(policy.admit(req('OPTIONS', next()), next()).admitted).toBe(true);
    expect(policy.admit(req('OPTIONS', next()), next())).toMatchObject({
      admitted: false,
      reason: 'reserved',
    });
    expect(policy.admit(req('REGISTER', next()), next()).admitted).toBe(true);
    expect(policy.admit(req('INVITE', next()), next()).admitted).toBe(true);
    expect(policy.admit(req('INVITE', next()), next())).toMatchObject({ admitted: false, reason: 'total' });

    const invites = new TransactionAdmission({ total: 6, reserved: 2, perAddress: 100 });
    for (let i = 0; i < 4; i++) expect(invites.admit(req('INVITE', next()), next()).admitted).toBe(true);
    expect(invites.admit(req('INVITE', next()), next())).toMatchObject({ admitted: false, reason: 'class' });
    expect(invites.admit(req('REGISTER', next()), next()).admitted).toBe(true);
    expect(invites.held('invite')).toBe(4);
  });

  it('gives a slot back once when its ticket is released', () => {
    const policy = new TransactionAdmission({ otherPerSource: 1 });
    const first = policy.admit(req('OPTIONS', a1), a1);
    if (!first.admitted) throw new Error('refused');
    expect(policy.admit(req('OPTIONS', a1), a1).admitted).toBe(false);
    first.ticket.release();
    first.ticket.release();
    expect(policy.live).toBe(0);
    expect(policy.admit(req('OPTIONS', a1), a1).admitted).toBe(true);
    expect(policy.live).toBe(1);
  });

  it('refuses limits that make no sense', () => {
    expect(() => new TransactionAdmission({ total: 10, reserved: 11 })).toThrow(RangeError);
    expect(() => new TransactionAdmission({ perSource: -1 })).toThrow(RangeError);
  });
});

describe('the transaction layer with an admission policy', () => {
  function setup(policy: TransactionAdmission) {
    const clock = new FakeClock();
    const transport = new CaptureTransport(() => clock.now());
    const requests: { request: SipRequest; transaction: ServerTransaction | undefined }[] = [];
    const layer = new SipTransactionLayer({
      transport,
      clock,
      admission: policy,
      onRequest: (request, transaction) => requests.push({ request, transaction }),
    });
    return { clock, transport, layer, requests };
  }

  it('answers a refused request 503 with Retry-After, counts it by reason, and frees slots at Timer J', () => {
    const { clock, transport, layer, requests } = setup(new TransactionAdmission({ otherPerSource: 2 }));
    for (let i = 0; i < 3; i++) transport.deliver(text(req('OPTIONS', a1)), a1);
    for (const { request, transaction } of requests) transaction!.respond(createResponse(request, 404));
    expect(requests).toHaveLength(2);
    const refusal = transport.sent.find(
      (s) => s.message.kind === 'response' && s.message.status === 503,
    )!.message;
    expect(refusal).toMatchObject({ kind: 'response', status: 503 });
    expect(refusal.headers.get('retry-after')).toBe('5');
    expect(layer.stats.overloadRejected).toBe(1);
    expect(layer.stats.overloadByReason.source).toBe(1);
    // The same source's REGISTER has its own share.
    transport.deliver(text(req('REGISTER', a1)), a1);
    expect(requests).toHaveLength(3);
    clock.advance(32_000);
    transport.deliver(text(req('OPTIONS', a1)), a1);
    expect(requests).toHaveLength(4);
  });

  it('a stateless answer holds no slot, and a retransmission gets the same To tag', () => {
    const { transport, layer, requests } = setup(new TransactionAdmission({ otherPerSource: 1 }));
    const options = req('OPTIONS', a1);
    for (let i = 0; i < 3; i++) {
      transport.deliver(text(options), a1);
      const { request, transaction } = requests.at(-1)!;
      transaction!.respondStateless(createResponse(request, 200, { toTag: statelessToTag(request) }));
    }
    expect(requests).toHaveLength(3);
    expect(layer.size).toBe(0);
    const tags = new Set(transport.sent.map((s) => s.message.headers.get('to')));
    expect(tags.size).toBe(1);
    expect(statelessToTag(req('OPTIONS', a1))).not.toBe(statelessToTag(options));
  });

  it('uses the policy set later for new requests; earlier slots go back to their own policy', () => {
    const first = new TransactionAdmission();
    const { clock, transport, layer, requests } = setup(first);
    transport.deliver(text(req('OPTIONS', a1)), a1);
    const second = new TransactionAdmission({ otherPerSource: 0 });
    layer.setAdmissionPolicy(second);
    transport.deliver(text(req('OPTIONS', a1)), a1);
    expect(requests).toHaveLength(1);
    expect(layer.stats.overloadByReason.source).toBe(1);
    requests[0]!.transaction!.respond(createResponse(requests[0]!.request, 200));
    clock.advance(32_000);
    expect(first.live).toBe(0);
    layer.close();
  });
});
