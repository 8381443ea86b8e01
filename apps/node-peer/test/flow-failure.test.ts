import type { SipAddress } from '@xpp/session-sdp';
import { describe, expect, it } from 'vitest';
import { FLOW_SLACK_S, FLOW_TIMER_S, FlowTable, flowTimerFor } from '../src/registrar/flows.js';

// Issue 20 item 3: RFC 5626 flows fail when their connection closes or their UDP keepalives stop (pure table).
const peer = new Uint8Array(16);
const binding = (regId: number, contact = 'sip:a@192.0.2.1') => ({
  instanceId: '<urn:uuid:00000000-0000-4000-8000-000000000001>',
  regId,
  contact,
  flowPeer: peer,
});
const tcp = (port: number): SipAddress => ({ address: '192.0.2.1', port, transport: 'TCP' });
const udp = (port: number): SipAddress => ({ address: '192.0.2.1', port });

describe('flow failure (RFC 5626 §5.3)', () => {
  it('Flow-Timer: 29 s for UDP flows, 120 s for connections', () => {
    expect(flowTimerFor(udp(1))).toBe(FLOW_TIMER_S.datagram);
    expect(flowTimerFor(tcp(1))).toBe(120);
    expect(flowTimerFor({ address: '::1', port: 1, transport: 'WSS' })).toBe(120);
  });

  it('a closed connection fails only the flows registered over it; a new REGISTER revives the flow', () => {
    const flows = new FlowTable();
    flows.set(
      { aor: 'sip:a@x', binding: binding(1), source: tcp(1000), expiresAt: 600_000, xppPeer: false },
      0,
    );
    flows.set(
      { aor: 'sip:a@x', binding: binding(2), source: tcp(2000), expiresAt: 600_000, xppPeer: false },
      0,
    );
    const failed = flows.failSource(tcp(1000));
    expect(failed.map((f) => f.binding.regId)).toEqual([1]);
    expect(flows.get('sip:a@x', binding(1))?.failed).toBe(true);
    expect(flows.get('sip:a@x', binding(2))?.failed).not.toBe(true);
    // The same port on UDP is another flow: untouched. Failing twice reports nothing new.
    expect(flows.failSource(udp(2000))).toEqual([]);
    expect(flows.failSource(tcp(1000))).toEqual([]);
    // Still listed (a request for it gets 430, not a timeout) until re-registered or expired.
    expect(flows.ofAor('sip:a@x')).toHaveLength(2);
    flows.set(
      { aor: 'sip:a@x', binding: binding(1), source: tcp(3000), expiresAt: 600_000, xppPeer: false },
      5,
    );
    expect(flows.get('sip:a@x', binding(1))?.failed).not.toBe(true);
    expect(flows.failSource(tcp(1000))).toEqual([]);
  });

  it('a silent Outbound UDP flow fails after Flow-Timer + slack; a keepalive or a plain registration does not', () => {
    const flows = new FlowTable();
    const limit = (FLOW_TIMER_S.datagram + FLOW_SLACK_S) * 1000;
    flows.set(
      { aor: 'sip:a@x', binding: binding(1), source: udp(1), expiresAt: 3_600_000, xppPeer: false },
      0,
    );
    flows.set(
      { aor: 'sip:a@x', binding: binding(2), source: udp(2), expiresAt: 3_600_000, xppPeer: false },
      0,
    );
    // Without reg-id (no Outbound): lives as long as its registration.
    flows.set(
      {
        aor: 'sip:a@x',
        binding: binding(0, 'sip:b@192.0.2.1'),
        source: udp(3),
        expiresAt: 3_600_000,
        xppPeer: false,
      },
      0,
    );
    flows.set(
      { aor: 'sip:a@x', binding: binding(3), source: tcp(4), expiresAt: 3_600_000, xppPeer: false },
      0,
    );
    expect(flows.failSilent(limit)).toEqual([]);
    flows.touchSource(udp(2), limit);
    const failed = flows.failSilent(limit + 1);
    expect(failed.map((f) => f.binding.regId)).toEqual([1]);
    expect(flows.failSilent(limit * 2 + 1).map((f) => f.binding.regId)).toEqual([2]);
  });
});
