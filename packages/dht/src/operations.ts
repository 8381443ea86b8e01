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
} as const;
