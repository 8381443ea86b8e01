import type { Point } from '@xpp/can';
import type { ValueCodec } from '@xpp/wire';
import { DhtError } from '../errors.js';
import { decodeRoute } from '../messages.js';
import { DhtOperation } from '../operations.js';
import type { Admission } from './admission.js';
import type { OverlayHandler } from './dispatch.js';
import type { Membership } from './membership.js';
import { serving } from './parts.js';
import type { Relays } from './relay.js';
import type { ReplicaHolder } from './replica-holder.js';
import { REPLICATE } from './replication.js';
import type { Router } from './routing.js';
import type { TakeoverCoordinator } from './takeover-coordinator.js';
import type { OverlayNodeState } from './types.js';
import type { ZoneTransfer } from './zone-transfer.js';

/** The parts that handle the overlay's operations. */
export interface HandlerParts {
  state(): OverlayNodeState;
  readonly points: ValueCodec<Point>;
  readonly router: Pick<Router, 'route'>;
  readonly admission: Pick<Admission, 'onJoin'>;
  readonly members: Pick<Membership, 'onNeighbourUpdate'>;
  readonly transfer: Pick<ZoneTransfer, 'onLeave' | 'askedAgain'>;
  readonly takeovers: Pick<TakeoverCoordinator, 'onTakeover'>;
  readonly replicas: Pick<ReplicaHolder, 'onReplicate' | 'onPut' | 'onRemove'>;
  readonly relays: Pick<Relays, 'onConnect'>;
}

/**
 * The overlay operations a session serves, each with who may send it (see Dispatcher, NeighbourRights) and the
 * part that handles it: storage and overlay operations need a neighbour, NEIGHBOUR-UPDATE may also come from an
 * admitted caller not listed yet, and JOIN checks its own session.
 */
export function overlayHandlers(p: HandlerParts): OverlayHandler[] {
  return [
    {
      op: DhtOperation.ROUTE.type,
      name: 'ROUTE',
      access: 'neighbour',
      handle: (request) => {
        if (!serving(p.state())) throw new DhtError('NOT_A_PEER', 'not a peer');
        const route = decodeRoute(request.options);
        const target = p.points.decode(route.target);
        return p.router.route(target, route.operation, route.inner, route.hopLimit);
      },
    },
    {
      op: DhtOperation.JOIN.type,
      name: 'JOIN',
      access: 'open',
      handle: (request, session) => p.admission.onJoin(session, request),
    },
    {
      op: DhtOperation.NEIGHBOUR_UPDATE.type,
      name: 'NEIGHBOUR-UPDATE',
      access: 'announcer',
      handle: (request, sender) => p.members.onNeighbourUpdate(sender, request),
    },
    {
      op: DhtOperation.LEAVE.type,
      name: 'LEAVE',
      access: 'neighbour',
      handle: (request, sender) => p.transfer.onLeave(sender, request),
      // A sender whose first LEAVE this node took hears so again, even once pruned as no longer adjacent.
      alsoFrom: (from, request) => p.transfer.askedAgain(from, request),
    },
    {
      op: DhtOperation.TAKEOVER.type,
      name: 'TAKEOVER',
      access: 'neighbour',
      handle: (request, sender) => p.takeovers.onTakeover(sender, request),
    },
    {
      op: REPLICATE.type,
      name: 'REPLICATE',
      access: 'neighbour',
      handle: (request, sender) => p.replicas.onReplicate(sender, request),
    },
    {
      op: DhtOperation.PUT.type,
      name: 'PUT',
      access: 'neighbour',
      handle: (request, sender) => p.replicas.onPut(sender, request),
    },
    {
      // A neighbour's link is what authenticates both the requester (to the relay) and the relay (to the target).
      op: DhtOperation.RELAY_CONNECT.type,
      name: 'RELAY-CONNECT',
      access: 'neighbour',
      handle: (request, sender) => p.relays.onConnect(sender, request),
    },
    {
      op: DhtOperation.REMOVE.type,
      name: 'REMOVE',
      access: 'neighbour',
      handle: (request, sender) => p.replicas.onRemove(sender, request),
    },
  ];
}
