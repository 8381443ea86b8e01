import { describe, expect, it } from 'vitest';
import {
  DEFAULT_INVITE_POLICY,
  DhtError,
  advertisesXppPeer,
  createDefaultInvitePolicy,
  type InviteCandidate,
} from '@xpp/dht';

const MIN = DEFAULT_INVITE_POLICY.minStableFlowMs;
const now = 100 * MIN;
const idle = { records: 0, clients: 0, requestRate: 0 };
const stable = (id: string, since = now - MIN, xppPeer = true): InviteCandidate => ({
  id,
  xppPeer,
  flowSince: since,
});

describe('default invite policy (spec §7)', () => {
  const policy = createDefaultInvitePolicy();

  it('invites nobody while the node is not loaded', () => {
    expect(policy(idle, [stable('a')], now)).toBeUndefined();
    expect(
      policy(
        {
          records: DEFAULT_INVITE_POLICY.maxRecords,
          clients: DEFAULT_INVITE_POLICY.maxClients,
          requestRate: DEFAULT_INVITE_POLICY.maxRequestRate,
        },
        [stable('a')],
        now,
      ),
    ).toBeUndefined();
  });

  it.each([
    ['records', { ...idle, records: DEFAULT_INVITE_POLICY.maxRecords + 1 }],
    ['clients', { ...idle, clients: DEFAULT_INVITE_POLICY.maxClients + 1 }],
    ['request rate', { ...idle, requestRate: DEFAULT_INVITE_POLICY.maxRequestRate + 0.5 }],
  ])('invites when %s exceed the threshold', (_name, load) => {
    expect(policy(load, [stable('a')], now)?.id).toBe('a');
  });

  it('only invites candidates that advertised +sip.xpp-peer and kept their flow long enough, the longest first', () => {
    const loaded = { ...idle, clients: 1000 };
    expect(
      policy(loaded, [stable('young', now - MIN + 1), stable('refuser', now - 2 * MIN, false)], now),
    ).toBeUndefined();
    expect(
      policy(loaded, [stable('b', now - MIN), stable('a', now - 3 * MIN), stable('c', now - 3 * MIN)], now)
        ?.id,
    ).toBe('a');
    expect(policy(loaded, [], now)).toBeUndefined();
  });

  it('takes its thresholds from options and refuses nonsense', () => {
    const eager = createDefaultInvitePolicy({ maxRecords: 0, minStableFlowMs: 0 });
    expect(eager({ ...idle, records: 1 }, [stable('a', now)], now)?.id).toBe('a');
    expect(() => createDefaultInvitePolicy({ maxClients: -1 })).toThrow(DhtError);
  });
});

describe('advertisesXppPeer', () => {
  it.each([
    ['<sip:alice@192.0.2.1;ob>;+sip.xpp-peer', true],
    ['<sip:alice@192.0.2.1>;expires=3600;+SIP.XPP-PEER="TRUE"', true],
    ['<sip:alice@192.0.2.1>;+sip.xpp-peer="FALSE"', false],
    ['<sip:alice@192.0.2.1;+sip.xpp-peer>', false],
    ['sip:alice@192.0.2.1;+sip.xpp-peer', true],
    ['<sip:alice@192.0.2.1>;+sip.instance="<urn:uuid:1>"', false],
    ['<sip:alice@192.0.2.1>;+sip.instance="<urn:uuid:1>";reg-id=1;+sip.xpp-peer', true],
    ['<sip:alice@192.0.2.1>;+sip.xpp-peer;+sip.instance="<urn:uuid:1>"', true],
    ['<sip:alice@192.0.2.1', false],
    ['sip:alice@192.0.2.1', false],
  ])('%s → %s', (contact, expected) => {
    expect(advertisesXppPeer(contact)).toBe(expected);
  });
});
