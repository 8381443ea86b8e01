import { defaultRegistry } from '@xpp/wire';

/** XPP-PCAN operation types (spec §3), in the PCAN range 0x0100–0x3FFF, registered in `defaultRegistry`. */
export const DhtOperation = {
  ROUTE: defaultRegistry.defineOperation({ type: 0x0100, name: 'ROUTE' }),
  PUT: defaultRegistry.defineOperation({ type: 0x0101, name: 'PUT' }),
  GET: defaultRegistry.defineOperation({ type: 0x0102, name: 'GET' }),
  REMOVE: defaultRegistry.defineOperation({ type: 0x0103, name: 'REMOVE' }),
  JOIN: defaultRegistry.defineOperation({ type: 0x0104, name: 'JOIN' }),
  NEIGHBOUR_UPDATE: defaultRegistry.defineOperation({ type: 0x0105, name: 'NEIGHBOUR-UPDATE' }),
  LEAVE: defaultRegistry.defineOperation({ type: 0x0106, name: 'LEAVE' }),
  TAKEOVER: defaultRegistry.defineOperation({ type: 0x0107, name: 'TAKEOVER' }),
  /**
   * Routed to the owner of an AOR: verify a digest response against the AOR's CREDENTIAL and store or remove a
   * binding in the same step (spec §5.6); HA1 stays with the holders. 0x0108 is REPLICATE (node/replication.ts).
   */
  REGISTER_BIND: defaultRegistry.defineOperation({ type: 0x0109, name: 'REGISTER-BIND' }),
  /** REGISTER-BIND's verify-only form: yes or no to a digest response (the SIP edge's 407 challenges). */
  AUTHORIZE: defaultRegistry.defineOperation({ type: 0x010a, name: 'AUTHORIZE' }),
  /**
   * Routed to the owner of a point: its zones and its CREDENTIAL records sealed to the one-time key of an
   * administrator's grant (EXPORT-GRANT), a page at a time (`xpp-node user list` / `backup`).
   */
  EXPORT_CREDENTIALS: defaultRegistry.defineOperation({ type: 0x010b, name: 'EXPORT-CREDENTIALS' }),
  /**
   * To a neighbour both peers have a link to: hand a session offer to the other peer and bring its answer back, and
   * with `relayed` forward the session's datagrams too (docs/decisions/dht-nat.md part 4).
   */
  RELAY_CONNECT: defaultRegistry.defineOperation({ type: 0x010c, name: 'RELAY-CONNECT' }),
} as const;
