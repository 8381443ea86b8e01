import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  OPTION_HEADER_SIZE,
  Option,
  WireError,
  decodeMessage,
  encodeMessage,
  type XppOption,
} from '@xpp/wire';
import {
  DhtError,
  DhtOption,
  DhtOperation,
  RecordKind,
  decodeGet,
  decodePut,
  decodePutResponse,
  decodeRecords,
  decodeRemove,
  decodeRoute,
  encodeGet,
  encodePut,
  encodeRoute,
  decodeAuthorize,
  decodeBindResponse,
  decodeRegisterBind,
  encodeBindResponse,
  encodeRegisterBind,
  type BindChange,
} from '@xpp/dht';
import {
  refusalOptions,
  decodeHandoff,
  decodeNeighbourUpdate,
  decodeTakeover,
  encodeHandoff,
  encodeNeighbourUpdate,
} from '../src/messages.js';
import * as arb from './support/arbitraries.js';

const decoders: [string, (options: readonly XppOption[]) => unknown][] = [
  ['ROUTE', decodeRoute],
  ['PUT', decodePut],
  ['PUT response', decodePutResponse],
  ['GET', decodeGet],
  ['records', (o) => decodeRecords(o)],
  ['REMOVE', decodeRemove],
  ['handoff', (o) => decodeHandoff(o)],
  ['NEIGHBOUR-UPDATE', decodeNeighbourUpdate],
  ['TAKEOVER', decodeTakeover],
  ['REGISTER-BIND', decodeRegisterBind],
  ['AUTHORIZE', decodeAuthorize],
  ['REGISTER-BIND response', decodeBindResponse],
];

const ourTypes = Object.values(DhtOption).map((o) => o.type);

/** Options of our types (and a few others) with random values: what a hostile neighbour could send. */
const hostileOptions = fc.array(
  fc.record({
    type: fc.oneof(fc.constantFrom(...ourTypes), fc.integer({ min: 0, max: 0x7fff })),
    mandatory: fc.boolean(),
    value: arb.bytes(0, 80),
  }),
  { maxLength: 12 },
);

function errorCode(run: () => unknown): string {
  try {
    run();
    return 'accepted';
  } catch (error) {
    if (WireError.is(error)) return error.code;
    throw error;
  }
}

describe('refusalOptions', () => {
  it('answers a DhtError with its status, a malformed request with 400, and 503 with RETRY-AFTER', () => {
    const full = refusalOptions(new DhtError('STORE_FULL', 'full'), 5);
    expect(Option.ERROR.require(full)).toEqual({ code: 503, reason: 'full' });
    expect(Option.RETRY_AFTER.find(full)).toBe(5);
    const forged = refusalOptions(new DhtError('BAD_SIGNATURE', 'forged'), 5);
    expect(Option.ERROR.require(forged).code).toBe(403);
    expect(Option.RETRY_AFTER.find(forged)).toBeUndefined();
    const malformed = refusalOptions(new WireError('TRUNCATED', 'x'.repeat(2000)));
    expect(Option.ERROR.require(malformed)).toEqual({ code: 400, reason: 'x'.repeat(512) });
  });
});

describe('operation bodies', () => {
  it.each(decoders)('%s meets hostile options with a body or a WireError', (_name, decode) => {
    fc.assert(
      fc.property(hostileOptions, (options) => {
        try {
          decode(options);
        } catch (error) {
          expect(WireError.is(error), String(error)).toBe(true);
        }
      }),
    );
  });

  it('REGISTER-BIND and its answer round-trip any valid body through a whole message', () => {
    const change: fc.Arbitrary<BindChange> = fc.oneof(
      fc.record({ binding: arb.binding, lifetime: fc.nat({ max: 0xffffffff }) }),
      fc.record({ remove: fc.oneof(fc.constant('*' as const), arb.binding) }),
    );
    fc.assert(
      fc.property(arb.text(1024), arb.digestFields, change, (aor, digest, c) => {
        const body = { aor, digest, change: c };
        const options = decodeMessage(
          encodeMessage({
            number: 1,
            response: false,
            type: DhtOperation.REGISTER_BIND.type,
            options: encodeRegisterBind(body),
          }),
        ).options;
        const decoded = decodeRegisterBind(options);
        // A removal carries the binding's identity only.
        const expected =
          'remove' in c && c.remove !== '*'
            ? {
                ...body,
                change: {
                  remove: {
                    instanceId: c.remove.instanceId,
                    regId: c.remove.regId,
                    contact: c.remove.contact,
                  },
                },
              }
            : body;
        expect(decoded).toEqual(expected);
      }),
    );
    for (const answer of [{ verdict: 'ok', lifetime: 60 }, { verdict: 'wrong-response' }] as const)
      expect(decodeBindResponse(encodeBindResponse(answer))).toEqual(answer);
  });

  it('PUT round-trips any valid body through a whole message', () => {
    fc.assert(
      fc.property(arb.wireRecord, fc.boolean(), (r, replica) => {
        const body = {
          key: r.key,
          kind: r.kind,
          value: r.value,
          lifetime: r.lifetime,
          ...(replica ? { replica } : {}),
        };
        const bytes = encodeMessage({
          number: 1,
          response: false,
          type: DhtOperation.PUT.type,
          options: encodePut(body),
        });
        expect(decodePut(decodeMessage(bytes).options)).toEqual(body);
      }),
    );
  });

  it('carries a 64 KiB value in two VALUE options and reassembles it', () => {
    const value = new Uint8Array(65536).map((_, i) => i % 251);
    const options = encodePut({ key: 'k', kind: RecordKind.PEER, value, lifetime: 1 });
    expect(options.filter((o) => o.type === DhtOption.VALUE.type).map((o) => o.value.length)).toEqual([
      65535, 1,
    ]);
    const message = encodeMessage({ number: 1, response: false, type: DhtOperation.PUT.type, options });
    expect(Buffer.from(decodePut(decodeMessage(message).options).value).equals(value)).toBe(true);
  });

  it('ROUTE keeps the inner request options in order and strips its own', () => {
    const inner = encodeGet({ key: 'sip:bob@example.org', kind: RecordKind.CREDENTIAL });
    const route = encodeRoute({
      target: Uint8Array.of(1, 2, 3, 4),
      hopLimit: 7,
      operation: DhtOperation.GET.type,
      inner,
    });
    const decoded = decodeRoute(route);
    expect(decoded.hopLimit).toBe(7);
    expect(decoded.inner).toEqual(inner);
    expect(decodeGet(decoded.inner)).toEqual({ key: 'sip:bob@example.org', kind: RecordKind.CREDENTIAL });
    const nested = encodeRoute({ ...decoded, operation: DhtOperation.ROUTE.type, inner: [] });
    expect(errorCode(() => decodeRoute(nested))).toBe('BAD_VALUE');
  });

  it('refuses missing and doubled options with stable codes', () => {
    const get = encodeGet({ key: 'k', kind: RecordKind.PEER });
    expect(errorCode(() => decodeGet(get.slice(1)))).toBe('MISSING_OPTION');
    expect(errorCode(() => decodeGet([...get, get[0]!]))).toBe('BAD_VALUE');
    expect(errorCode(() => decodePut(get))).toBe('MISSING_OPTION');
    expect(errorCode(() => decodeHandoff([]))).toBe('MISSING_OPTION');
    expect(errorCode(() => decodeNeighbourUpdate([]))).toBe('MISSING_OPTION');
    expect(errorCode(() => decodeTakeover([DhtOption.ZONE.option(Uint8Array.of(1))]))).toBe('MISSING_OPTION');
  });

  it('NEIGHBOUR-UPDATE: a full list and a PARTIAL delta round-trip through the wire and stay distinct', () => {
    fc.assert(
      fc.property(
        fc.array(arb.neighbour, { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        (neighbours, partial) => {
          const wire = decodeMessage(
            encodeMessage({
              number: 7,
              response: false,
              type: DhtOperation.NEIGHBOUR_UPDATE.type,
              options: encodeNeighbourUpdate({ neighbours, partial }),
            }),
          );
          const decoded = decodeNeighbourUpdate(wire.options);
          expect(decoded.neighbours).toEqual(neighbours);
          expect(decoded.partial === true).toBe(partial);
        },
      ),
    );
  });

  it('LEAVE: a hand-over and a RETURN of records round-trip and stay distinct', () => {
    fc.assert(
      fc.property(
        fc.array(arb.neighbour, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        (neighbours, returned) => {
          const options = encodeHandoff({
            zones: [Uint8Array.of(1, 0x80)],
            neighbours,
            records: [],
            returned,
          });
          const decoded = decodeHandoff(
            decodeMessage(
              encodeMessage({ number: 3, response: false, type: DhtOperation.LEAVE.type, options }),
            ).options,
          );
          expect(decoded.neighbours).toEqual(neighbours);
          expect(decoded.returned === true).toBe(returned);
        },
      ),
    );
  });

  it('bounds how many records a handoff may carry', () => {
    const records = Array.from({ length: 5 }, (_, i) => ({
      kind: RecordKind.PEER,
      key: `k${i}`,
      value: new Uint8Array(0),
      lifetime: 1,
    }));
    const options = encodeHandoff({ zones: [Uint8Array.of(0)], neighbours: [], records });
    expect(decodeHandoff(options, 5).records).toHaveLength(5);
    expect(errorCode(() => decodeHandoff(options, 4))).toBe('TOO_LARGE');
    expect(options.reduce((n, o) => n + OPTION_HEADER_SIZE + o.value.length, 0)).toBeGreaterThan(0);
  });
});
