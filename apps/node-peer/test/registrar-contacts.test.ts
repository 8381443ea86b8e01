import fc from 'fast-check';
import { SipHeaders, type SipRequest } from '@xpp/session-sdp';
import { describe, expect, it } from 'vitest';
import { AnsweredRegisters } from '../src/registrar/answered.js';
import { DEFAULT_EXPIRY_BOUNDS, grantExpires, readRegisterContacts } from '../src/registrar/contacts.js';
import { FlowTable } from '../src/registrar/flows.js';

function register(headers: [string, string][]): SipRequest {
  return {
    kind: 'request',
    method: 'REGISTER',
    uri: 'sip:localhost',
    headers: new SipHeaders(headers),
    body: new Uint8Array(0),
  };
}

describe('readRegisterContacts (pure)', () => {
  it('reads URIs, RFC 5626 instance and reg-id, expires (parameter over header) and +sip.xpp-peer', () => {
    const read = readRegisterContacts(
      register([
        ['Contact', '<sip:a@192.0.2.1:5060;transport=udp>;+sip.instance="<urn:uuid:1>";reg-id=2;expires=120'],
        ['Contact', '"Bob" <sip:b@192.0.2.2>;+sip.xpp-peer'],
        ['Contact', '<sip:c@192.0.2.3>;+sip.xpp-peer="FALSE"'],
        ['Expires', '300'],
      ]),
    );
    expect(read).toEqual({
      type: 'bind',
      contacts: [
        {
          uri: 'sip:a@192.0.2.1:5060;transport=udp',
          instanceId: 'urn:uuid:1',
          regId: 2,
          expires: 120,
          xppPeer: false,
        },
        { uri: 'sip:b@192.0.2.2', instanceId: '', regId: 0, expires: 300, xppPeer: true },
        { uri: 'sip:c@192.0.2.3', instanceId: '', regId: 0, expires: 300, xppPeer: false },
      ],
    });
  });

  it('reads the q-value (RFC 3261 §20.10) that orders forking', () => {
    const read = readRegisterContacts(
      register([
        ['Contact', '<sip:a@192.0.2.1>;q=0.5'],
        ['Contact', '<sip:b@192.0.2.2>;q=1.0'],
        ['Contact', '<sip:c@192.0.2.3>;q=0'],
      ]),
    );
    expect(read.type === 'bind' && read.contacts.map((c) => c.q)).toEqual([0.5, 1, 0]);
  });

  it('tells a query, a removal of all, and what is invalid', () => {
    expect(readRegisterContacts(register([]))).toEqual({ type: 'query' });
    expect(
      readRegisterContacts(
        register([
          ['Contact', '*'],
          ['Expires', '0'],
        ]),
      ),
    ).toEqual({ type: 'remove-all' });
    for (const headers of [
      [['Contact', '*']],
      [
        ['Contact', '*'],
        ['Contact', '<sip:a@b>'],
        ['Expires', '0'],
      ],
      [
        ['Contact', '<sip:a@b>'],
        ['Expires', '-1'],
      ],
      [['Contact', '<sip:a@b>;expires=soon']],
      [['Contact', '<sip:a@b>;reg-id=x']],
      [['Contact', '<sip:a@b>;q=1.5']],
      [['Contact', '<sip:a@b>;q=0.1234']],
      [['Contact', '<sip:a@b>;q']],
      [['Contact', '<mailto:a@b>']],
      [['Contact', Array.from({ length: 17 }, (_, i) => `<sip:u${i}@h>`).join(', ')]],
    ] as [string, string][][]) {
      expect(readRegisterContacts(register(headers)).type, JSON.stringify(headers)).toBe('invalid');
    }
  });

  it('never throws on arbitrary Contact and Expires values', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 80 }), { maxLength: 4 }),
        fc.option(fc.string()),
        (contacts, expires) => {
          const headers: [string, string][] = contacts
            .filter((c) => !/[\r\n\0]/.test(c))
            .map((c) => ['Contact', c] as [string, string]);
          if (expires !== null && !/[\r\n\0]/.test(expires)) headers.push(['Expires', expires]);
          const read = readRegisterContacts(register(headers));
          expect(['query', 'remove-all', 'bind', 'invalid']).toContain(read.type);
        },
      ),
    );
  });
});

describe('grantExpires (pure)', () => {
  it('removes at 0, refuses below the minimum, caps at the maximum, defaults when absent', () => {
    expect(grantExpires(0, DEFAULT_EXPIRY_BOUNDS)).toBe(0);
    expect(grantExpires(59, DEFAULT_EXPIRY_BOUNDS)).toBe('too-brief');
    expect(grantExpires(60, DEFAULT_EXPIRY_BOUNDS)).toBe(60);
    expect(grantExpires(2 ** 32 - 1, DEFAULT_EXPIRY_BOUNDS)).toBe(3600);
    expect(grantExpires(undefined, { ...DEFAULT_EXPIRY_BOUNDS, defaultExpires: 900 })).toBe(900);
  });
});

describe('FlowTable and AnsweredRegisters (pure, bounded)', () => {
  const binding = (contact: string, instanceId = '') => ({
    instanceId,
    regId: 0,
    contact,
    flowPeer: Uint8Array.of(1),
  });
  const source = (port: number) => ({ address: '192.0.2.1', port });

  it('its AOR and +sip.xpp-peer indexes agree with its flows under any sequence of sets, deletes and sweeps', () => {
    const step = fc.record({
      op: fc.constantFrom('set', 'set', 'delete', 'sweep', 'clear'),
      aor: fc.constantFrom('sip:a@x', 'sip:b@x', 'sip:c@x'),
      contact: fc.constantFrom('sip:u@192.0.2.1', 'sip:v@192.0.2.2', 'sip:w@192.0.2.3'),
      at: fc.integer({ min: 0, max: 100 }),
      xppPeer: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const flows = new FlowTable(5);
        for (const { op, aor, contact, at, xppPeer } of steps) {
          if (op === 'set')
            flows.set({ aor, binding: binding(contact), source: source(1), expiresAt: at, xppPeer }, 0);
          else if (op === 'delete') flows.delete(aor, binding(contact));
          else if (op === 'sweep') flows.sweep(at);
          else flows.clear();
          const all = [...flows.values()];
          expect(flows.aors).toBe(new Set(all.map((f) => f.aor)).size);
          for (const a of ['sip:a@x', 'sip:b@x', 'sip:c@x']) {
            expect(new Set(flows.ofAor(a))).toEqual(new Set(all.filter((f) => f.aor === a)));
            expect(flows.hasAor(a)).toBe(all.some((f) => f.aor === a));
          }
          expect(new Set(flows.xppPeers())).toEqual(new Set(all.filter((f) => f.xppPeer)));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('keeps a flow per AOR and identity, finds it by contact without parameters, keeps `since` for the same source', () => {
    const flows = new FlowTable(2);
    expect(
      flows.set(
        {
          aor: 'sip:a@x',
          binding: binding('sip:a@192.0.2.1:5060'),
          source: source(5060),
          expiresAt: 100,
          xppPeer: false,
        },
        0,
      ),
    ).toBe(true);
    expect(flows.ofAorContact('sip:a@x', 'sip:a@192.0.2.1:5060;transport=UDP')?.aor).toBe('sip:a@x');
    flows.set(
      {
        aor: 'sip:a@x',
        binding: binding('sip:a@192.0.2.1:5060'),
        source: source(5060),
        expiresAt: 200,
        xppPeer: false,
      },
      50,
    );
    expect(flows.get('sip:a@x', binding('sip:a@192.0.2.1:5060'))?.since).toBe(0);
    flows.set(
      {
        aor: 'sip:a@x',
        binding: binding('sip:a@192.0.2.1:5060'),
        source: source(6000),
        expiresAt: 200,
        xppPeer: false,
      },
      60,
    );
    expect(flows.get('sip:a@x', binding('sip:a@192.0.2.1:5060'))?.since).toBe(60);
    flows.set(
      {
        aor: 'sip:b@x',
        binding: binding('sip:b@192.0.2.2'),
        source: source(1),
        expiresAt: 150,
        xppPeer: true,
      },
      0,
    );
    // Full: a third flow is refused, a refresh of a held one is not.
    expect(flows.hasRoom('sip:c@x', binding('sip:c@192.0.2.3'))).toBe(false);
    expect(
      flows.set(
        {
          aor: 'sip:c@x',
          binding: binding('sip:c@192.0.2.3'),
          source: source(1),
          expiresAt: 150,
          xppPeer: false,
        },
        0,
      ),
    ).toBe(false);
    expect(flows.hasRoom('sip:b@x', binding('sip:b@192.0.2.2'))).toBe(true);
    expect(flows.sweep(160).map((f) => f.aor)).toEqual(['sip:b@x']);
    expect(flows.withContact('sip:b@192.0.2.2')).toEqual([]);
    expect(flows.size).toBe(1);
  });

  it('remembers answers for their retransmissions within the time and count bounds', () => {
    const answered = new AnsweredRegisters(1000, 2);
    const response = (status: number) => ({
      kind: 'response' as const,
      status,
      reason: '',
      headers: new SipHeaders(),
      body: new Uint8Array(0),
    });
    answered.set('a', response(200), 0);
    answered.set('b', response(403), 10);
    expect(answered.get('a', 500)?.status).toBe(200);
    answered.set('c', response(404), 20); // over the count: the oldest answer (a) goes
    expect(answered.get('a', 20)).toBeUndefined();
    expect(answered.get('b', 20)?.status).toBe(403);
    expect(answered.get('b', 1011)).toBeUndefined(); // over the time
    expect(answered.size).toBe(1);
  });
});
