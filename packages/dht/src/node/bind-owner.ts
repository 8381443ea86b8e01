import type { Point } from '@xpp/can';
import { toHex, type XppOption } from '@xpp/wire';
import {
  decodeAuthorize,
  decodeRegisterBind,
  encodeBindResponse,
  type BindChange,
} from '../bind-messages.js';
import type { DigestVerdict } from '../bind-values.js';
import { decodeCredentialRecord } from '../credential-record.js';
import { verifyDigest, type DigestResponseFields } from '../digest.js';
import { DhtError } from '../errors.js';
import { RecordKind } from '../kinds.js';
import { encodePut, encodeRemove } from '../messages.js';
import { DhtOperation } from '../operations.js';
import { originOf, type OriginAuthority } from '../origin.js';
import type { RecordStore } from '../store.js';
import { bindingCodec } from '../values.js';

/** What the owner's side of REGISTER-BIND and AUTHORIZE needs of its node. */
export interface BindOwnerContext {
  readonly store: RecordStore;
  readonly origin: OriginAuthority;
  /** Throws `LEAVING` when the zone of `point` is being handed over. */
  assertWritable(point: Point): void;
  /** Replicates a write; the router awaits its acknowledgement with the answer. */
  replicateWrite(point: Point, type: number, options: readonly XppOption[]): void;
}

/** The verdict on `digest` against the AOR's CREDENTIAL as this holder keeps it (a tombstone: no such user). */
export function digestVerdict(store: RecordStore, aor: string, digest: DigestResponseFields): DigestVerdict {
  const [record] = store.get(aor, RecordKind.CREDENTIAL).filter((r) => r.role === 'primary');
  if (record === undefined) return 'unknown-user';
  const held = decodeCredentialRecord(record.value);
  if (held.type !== 'credential') return 'unknown-user';
  return verifyDigest(held.credential, digest) ? 'ok' : 'wrong-response';
}

/** AUTHORIZE at the owner: yes or no, nothing else leaves. */
export function authorizeAtOwner(ctx: BindOwnerContext, inner: readonly XppOption[]): XppOption[] {
  const request = decodeAuthorize(inner);
  return encodeBindResponse({ verdict: digestVerdict(ctx.store, request.aor, request.digest) });
}

/**
 * REGISTER-BIND at the owner (spec §5.6): the digest response is checked against the credential held here, then the
 * binding is stored (its flow peer must be the request's origin: no peer writes another's flows) or removed in the
 * same turn, and the write replicated like a PUT or REMOVE.
 */
export function registerBindAtOwner(
  ctx: BindOwnerContext,
  inner: readonly XppOption[],
  point: Point,
): XppOption[] {
  const origin = originOf(ctx.origin, DhtOperation.REGISTER_BIND.type, inner);
  const request = decodeRegisterBind(inner);
  ctx.assertWritable(point);
  const verdict = digestVerdict(ctx.store, request.aor, request.digest);
  if (verdict !== 'ok') return encodeBindResponse({ verdict });
  const lifetime = apply(ctx, request.aor, request.change, origin, point);
  return encodeBindResponse(lifetime === undefined ? { verdict } : { verdict, lifetime });
}

function apply(
  ctx: BindOwnerContext,
  aor: string,
  change: BindChange,
  origin: string | undefined,
  point: Point,
): number | undefined {
  if (!('binding' in change)) {
    const bindingId = change.remove === '*' ? undefined : change.remove;
    ctx.store.remove(aor, RecordKind.BINDING, bindingId);
    ctx.replicateWrite(
      point,
      DhtOperation.REMOVE.type,
      encodeRemove({
        key: aor,
        kind: RecordKind.BINDING,
        replica: true,
        ...(bindingId ? { bindingId } : {}),
      }),
    );
    return undefined;
  }
  if (origin !== undefined && toHex(change.binding.flowPeer) !== origin)
    throw new DhtError('FORBIDDEN', `peer ${origin} may not bind a flow held by another peer`);
  const value = bindingCodec.encode(change.binding);
  const result = ctx.store.put({
    key: aor,
    kind: RecordKind.BINDING,
    value,
    lifetime: change.lifetime,
    ...(origin === undefined ? {} : { writer: origin }),
  });
  ctx.replicateWrite(
    point,
    DhtOperation.PUT.type,
    encodePut({ key: aor, kind: RecordKind.BINDING, value, lifetime: result.lifetime, replica: true }),
  );
  return result.lifetime;
}
