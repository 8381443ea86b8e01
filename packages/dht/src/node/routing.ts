import { nextHop, type NeighbourZone, type Point } from '@xpp/can';
import type { ValueCodec, XppOption } from '@xpp/wire';
import { toHex, WireError } from '@xpp/wire';
import { DhtError, statusOf } from '../errors.js';
import {
  decodeGet,
  decodePut,
  decodeRemove,
  encodePut,
  encodePutResponse,
  encodeRecords,
  encodeRemove,
  encodeRoute,
} from '../messages.js';
import { DhtOperation } from '../operations.js';
import { DhtOption } from '../options.js';
import { nextHopLimit } from '../pending-forwards.js';
import type { RecordStore } from '../store.js';
import { originOf, type OriginAuthority } from '../origin.js';
import { RecordKind } from '../kinds.js';
import { bindingCodec, bindingSubkey, type BindingId } from '../values.js';
import { authorizeAtOwner, registerBindAtOwner, type BindOwnerContext } from './bind-owner.js';
import { answerable } from './public-records.js';
import { assertRemovable } from './replica-holder.js';
import type { NodeCounters } from './counters.js';
import type { Neighbour } from './neighbour-table.js';
import { serving, type NodeView, type PeerRequest } from './parts.js';

/** What routing needs of its node. */
export interface RouterContext extends NodeView {
  /** Hop limit of the ROUTEs this node starts. */
  readonly hopLimit: number;
  readonly points: ValueCodec<Point>;
  readonly store: RecordStore;
  readonly counters: NodeCounters;
  /** Whether a write at `point` may be made here now (see Ownership). */
  writable(point: Point): boolean;
  routable(): NeighbourZone<string>[];
  neighbour(id: string): Neighbour | undefined;
  requestPeer: PeerRequest;
  /**
   * Sends a write the owner just made to the replica holders of the point's zone; settles once it may be
   * acknowledged (undefined: nothing to wait for), rejects when it may not (see Replicator.write).
   */
  replicateWrite(point: Point, type: number, options: readonly XppOption[]): Promise<void> | void;
  /** Signs the ORIGIN of the writes this node starts and verifies those of the writes it owns. */
  readonly origin: OriginAuthority;
  /** The owner's answer to EXPORT-CREDENTIALS (credential-export-walk.ts); absent: refused. */
  exportAtOwner?(inner: readonly XppOption[]): readonly XppOption[];
}

/** Replicates one write of the operation being executed, its acknowledgement awaited with the answer. */
type Replicate = (type: number, options: readonly XppOption[]) => void;

/**
 * Greedy routing (spec xpp-pcan §3) and the owner's side of PUT/GET/REMOVE: a request goes hop by hop (ROUTE) to
 * the owner of its target point, which runs it on its store, replicates a write and answers with the hop limit it
 * received, so that the node that started it learns how many hops it took.
 */
export class Router {
  readonly #ctx: RouterContext;

  constructor(ctx: RouterContext) {
    this.#ctx = ctx;
  }

  /**
   * A request this node starts: routed, counted by result, its hop count added to the histogram. `avoid` names a
   * neighbour not to take as the first hop unless no other leads on (a revoked peer is never asked to carry the
   * lookup of its own revocation: it could drop it, and its links to others may be hung up already).
   */
  async originate(
    name: string,
    target: Point,
    operation: number,
    inner: readonly XppOption[],
    avoid?: string,
  ): Promise<readonly XppOption[]> {
    const counters = this.#ctx.counters;
    try {
      const response = await this.route(target, operation, inner, undefined, avoid);
      const left = DhtOption.HOP_LIMIT.findAll(response).pop();
      counters.hop(left === undefined ? 0 : this.#ctx.hopLimit - left + 1);
      counters.count(counters.started, name, 'ok');
      return response;
    } catch (error) {
      counters.count(counters.started, name, String(statusOf(error)));
      throw error;
    }
  }

  /**
   * Delivers `operation` to the owner of `target`, here or hop by hop (ROUTE), and returns its response options.
   * `received` is the hop limit of the ROUTE that brought it here (undefined when this node starts it); the owner
   * appends it to its response. `avoid`: see `originate`.
   */
  async route(
    target: Point,
    operation: number,
    inner: readonly XppOption[],
    received?: number,
    avoid?: string,
  ): Promise<readonly XppOption[]> {
    if (!serving(this.#ctx.state())) throw new DhtError('NOT_A_PEER', 'this node owns no zone');
    const routable = this.#ctx.routable();
    let decision = nextHop(
      target,
      this.#ctx.zones(),
      avoid === undefined ? routable : routable.filter((n) => n.id !== avoid),
    );
    if (decision.kind === 'dead-end' && avoid !== undefined)
      decision = nextHop(target, this.#ctx.zones(), routable);
    if (decision.kind === 'mine') {
      const replicated: Promise<void>[] = [];
      const result = this.#execute(operation, inner, target, replicated);
      // The owner's answer (here, or sent back along the route) waits for the commit of what it wrote, here and at
      // the replica holders (spec §4): a crash of this peer right after the answer loses nothing.
      const committed = this.#ctx.store.durable?.();
      if (committed !== undefined) replicated.push(committed);
      if (replicated.length > 0) await Promise.all(replicated);
      return received === undefined ? result : [...result, DhtOption.HOP_LIMIT.option(received, true)];
    }
    if (decision.kind === 'dead-end') throw new DhtError('NO_ROUTE', 'no neighbour is closer to the target');
    const next = this.#ctx.neighbour(decision.next.id);
    if (next === undefined) throw new DhtError('NO_ROUTE', `neighbour ${decision.next.id} is gone`);
    const hopLimit = received === undefined ? this.#ctx.hopLimit : nextHopLimit(received);
    const response = await this.#ctx.requestPeer(
      next,
      DhtOperation.ROUTE.type,
      encodeRoute({ target: this.#ctx.points.encode(target), hopLimit, operation, inner }),
    );
    return response.options;
  }

  /**
   * Runs a storage operation as the owner of `point`; refusals are `DhtError`s. Writes are replicated; what their
   * acknowledgement waits for is added to `replicated`.
   */
  #execute(
    operation: number,
    inner: readonly XppOption[],
    point: Point,
    replicated: Promise<void>[],
  ): readonly XppOption[] {
    const store = this.#ctx.store;
    const replicate = (type: number, options: readonly XppOption[]) => {
      const acked = this.#ctx.replicateWrite(point, type, options);
      if (acked !== undefined) replicated.push(acked);
    };
    switch (operation) {
      case DhtOperation.PUT.type: {
        const put = decodePut(inner);
        if (put.replica === true) throw new WireError('BAD_VALUE', 'a routed PUT cannot be a replica');
        const writer = originOf(this.#ctx.origin, operation, inner);
        if (this.#ctx.origin.verified) assertOwnFlow(put.kind, put.value, writer);
        this.#assertWritable(point);
        const result = store.put({
          key: put.key,
          kind: put.kind,
          value: put.value,
          lifetime: put.lifetime,
          ...(writer === undefined ? {} : { writer }),
        });
        replicate(
          DhtOperation.PUT.type,
          encodePut({
            key: put.key,
            kind: put.kind,
            value: put.value,
            lifetime: result.lifetime,
            replica: true,
          }),
        );
        return encodePutResponse({ lifetime: result.lifetime });
      }
      case DhtOperation.GET.type: {
        const get = decodeGet(inner);
        const records = store.get(get.key, get.kind).filter((r) => r.role === 'primary');
        return encodeRecords({ records: answerable(records.map((r) => store.toWire(r))) });
      }
      case DhtOperation.REMOVE.type: {
        const remove = decodeRemove(inner);
        if (remove.replica === true) throw new WireError('BAD_VALUE', 'a routed REMOVE cannot be a replica');
        assertRemovable(remove.kind);
        const writer = originOf(this.#ctx.origin, operation, inner);
        this.#assertWritable(point);
        if (this.#ctx.origin.verified && remove.kind === RecordKind.BINDING)
          return this.#removeOwnBindings(replicate, remove.key, writer, remove.bindingId);
        store.remove(remove.key, remove.kind, remove.bindingId);
        replicate(DhtOperation.REMOVE.type, encodeRemove({ ...remove, replica: true }));
        return [];
      }
      case DhtOperation.REGISTER_BIND.type:
        return registerBindAtOwner(this.#bindContext(replicate), inner, point);
      case DhtOperation.AUTHORIZE.type:
        return authorizeAtOwner(this.#bindContext(replicate), inner);
      case DhtOperation.EXPORT_CREDENTIALS.type:
        if (this.#ctx.exportAtOwner === undefined)
          throw new DhtError('FORBIDDEN', 'this peer answers no credential export');
        return this.#ctx.exportAtOwner(inner);
      default:
        throw new DhtError('INVALID_ARGUMENT', `operation 0x${operation.toString(16)} cannot be routed`);
    }
  }

  /** With membership a peer removes only bindings of its own flows (spec §5.6); others' stay. */
  #removeOwnBindings(
    replicate: Replicate,
    key: string,
    writer: string | undefined,
    only: BindingId | undefined,
  ): readonly XppOption[] {
    const wanted = only === undefined ? undefined : bindingSubkey(only);
    for (const record of this.#ctx.store.get(key, RecordKind.BINDING)) {
      if (record.role !== 'primary' || (wanted !== undefined && record.subkey !== wanted)) continue;
      const binding = bindingCodec.decode(record.value);
      if (toHex(binding.flowPeer) !== writer) continue;
      this.#ctx.store.remove(key, RecordKind.BINDING, binding);
      replicate(
        DhtOperation.REMOVE.type,
        encodeRemove({ key, kind: RecordKind.BINDING, bindingId: binding, replica: true }),
      );
    }
    return [];
  }

  #bindContext(replicate: Replicate): BindOwnerContext {
    return {
      store: this.#ctx.store,
      origin: this.#ctx.origin,
      assertWritable: (p) => this.#assertWritable(p),
      replicateWrite: (_p, type, options) => replicate(type, options),
    };
  }

  #assertWritable(point: Point): void {
    if (!this.#ctx.writable(point))
      throw new DhtError('LEAVING', 'this zone is being handed to another peer; retry');
  }
}

/** With membership, a BINDING written by PUT is the writer's own flow too (spec §5.6), as by REGISTER-BIND. */
function assertOwnFlow(kind: number, value: Uint8Array, writer: string | undefined): void {
  if (kind !== RecordKind.BINDING) return;
  let flowPeer: string;
  try {
    flowPeer = toHex(bindingCodec.decode(value).flowPeer);
  } catch {
    return; // the store refuses what is not a binding
  }
  if (flowPeer !== writer)
    throw new DhtError('FORBIDDEN', `peer ${writer ?? '?'} may not bind another peer's flow`);
}
