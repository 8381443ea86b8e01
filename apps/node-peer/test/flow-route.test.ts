import { describe, expect, it } from 'vitest';
import {
  flowRouteUri,
  parseFlowRoute,
  PEER_FLOW_LIFETIME_S,
  PeerFlowTable,
} from '../src/proxy/flow-route.js';

const ID = '0123456789abcdef0123456789abcdef';
const at = (port: number) => ({ address: '192.0.2.1', port });

describe('flow routes', () => {
  it('names the NATed peer and its holder, as a URI or a Route value', () => {
    const uri = flowRouteUri(ID, at(5061));
    expect(uri).toBe(`sip:${ID}@192.0.2.1:5061;lr;xpp-flow`);
    expect(parseFlowRoute(uri)).toEqual({ peer: ID, holder: at(5061) });
    expect(parseFlowRoute(`<${flowRouteUri(ID, at(5061), ';xpp-rr=abc')}>`)).toEqual({
      peer: ID,
      holder: at(5061),
    });
    expect(flowRouteUri(ID, { address: '2001:db8::1', port: 5060 })).toBe(
      `sip:${ID}@[2001:db8::1]:5060;lr;xpp-flow`,
    );
  });

  it('is no flow route without the parameter, a peer id or a numeric host', () => {
    expect(parseFlowRoute(`<sip:${ID}@192.0.2.1:5061;lr>`)).toBeUndefined();
    expect(parseFlowRoute('<sip:alice@192.0.2.1:5061;lr;xpp-flow>')).toBeUndefined();
    expect(parseFlowRoute(`<sip:${ID}@example.com:5061;lr;xpp-flow>`)).toBeUndefined();
    expect(parseFlowRoute('<sip:192.0.2.1:5061;lr;xpp-flow>')).toBeUndefined();
  });
});

describe('the flows a holder keeps', () => {
  it('keeps the newest REGISTER’s source, drops a flow after its lifetime, and is bounded', () => {
    const table = new PeerFlowTable(2);
    expect(table.set('a', at(1), 100, 0)).toBe(true);
    // An older signature never moves the flow (a delayed or replayed REGISTER).
    expect(table.set('a', at(2), 99, 10)).toBe(true);
    expect(table.get('a', 10)?.source).toEqual(at(1));
    expect(table.set('a', at(3), 101, 20)).toBe(true);
    expect(table.get('a', 20)?.source).toEqual(at(3));
    expect(table.set('b', at(4), 100, 20)).toBe(true);
    expect(table.set('c', at(5), 100, 20)).toBe(false);
    expect(table.get('c', 20)).toBeUndefined();
    // Once a flow expires, its place is free.
    const later = 20 + PEER_FLOW_LIFETIME_S * 1000;
    expect(table.get('a', later)).toBeUndefined();
    expect(table.set('c', at(5), 200, later)).toBe(true);
    expect(table.size).toBe(2);
  });
});
