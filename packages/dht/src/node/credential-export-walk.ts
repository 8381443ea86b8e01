import { zoneCodec, Zone, type Point } from '@xpp/can';
import { bytesCodec, defaultRegistry, type XppOption } from '@xpp/wire';
import { verifyExportGrant, sealExport, MAX_EXPORT_PAGE_OCTETS } from '../credential-export.js';
import { DhtError } from '../errors.js';
import { RecordKind } from '../kinds.js';
import { DhtOption } from '../options.js';
import type { RecordStore } from '../store.js';
import type { AdminKeySet } from '../membership/admin-key-set.js';

/** EXPORT-GRANT (0x0115): a grant of `createExportGrant` (docs/decisions/dht-operation-codes.md). */
export const EXPORT_GRANT = defaultRegistry.defineOption({
  type: 0x0115,
  name: 'EXPORT-GRANT',
  codec: bytesCodec,
});
/** SEALED (0x0116): one page of credential values sealed to the grant's key. */
export const SEALED = defaultRegistry.defineOption({ type: 0x0116, name: 'SEALED', codec: bytesCodec });

/** Owners asked at most by one walk (each page is one request). */
export const DEFAULT_EXPORT_REQUESTS = 4096;

/** What a walk of the overlay brought back: sealed pages, and what it could not reach. */
export interface CredentialExport {
  /** Pages sealed to the grant's key (open with `openExport`). */
  readonly pages: readonly Uint8Array[];
  /** Requests answered (pages). */
  readonly requests: number;
  /** Distinct owners' zone sets answered. */
  readonly owners: number;
  /** Zone paths of the key space whose owner did not answer (or the request bound was reached): empty = complete. */
  readonly missed: readonly string[];
}

/** What the owner side needs of its node. */
export interface ExportOwnerContext {
  readonly store: RecordStore;
  readonly dimensions: number;
  zones(): readonly Zone[];
  /** The administrator keys grants are checked with; undefined: this node honours no grant. */
  readonly admins: AdminKeySet | undefined;
  wallNow(): number;
}

/**
 * The owner's answer to EXPORT-CREDENTIALS: its zones, and its primary CREDENTIAL records (credentials and
 * tombstones, in key order after the cursor KEY) sealed to the grant's key, a page at a time; KEY in the answer is
 * where the next page starts.
 */
export function exportAtOwner(ctx: ExportOwnerContext, inner: readonly XppOption[]): XppOption[] {
  const grant = EXPORT_GRANT.find(inner);
  if (grant === undefined) throw new DhtError('FORBIDDEN', 'EXPORT-CREDENTIALS without a grant');
  if (ctx.admins === undefined)
    throw new DhtError('FORBIDDEN', 'this peer has no administrator key to check an export grant');
  const recipient = verifyExportGrant(grant, ctx.admins, ctx.wallNow());
  const after = DhtOption.KEY.find(inner);
  const records = ctx.store
    .select(
      (r) =>
        r.kind === RecordKind.CREDENTIAL && r.role === 'primary' && (after === undefined || r.key > after),
    )
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const values: Uint8Array[] = [];
  let octets = 0;
  let next: string | undefined;
  for (const record of records) {
    if (values.length > 0 && octets + record.value.length > MAX_EXPORT_PAGE_OCTETS) {
      next = records[values.length - 1]?.key;
      break;
    }
    values.push(record.value);
    octets += record.value.length;
  }
  const zones = zoneCodec(ctx.dimensions);
  return [
    ...ctx.zones().map((z) => DhtOption.ZONE.option(zones.encode(z), true)),
    SEALED.option(sealExport(values, recipient), true),
    ...(next === undefined ? [] : [DhtOption.KEY.option(next, true)]),
  ];
}

/** The first zone path (a prefix of the key space) that no path of `covered` covers, or undefined. */
export function firstGap(covered: readonly string[], prefix = '', maxDepth = 255): string | undefined {
  if (covered.some((p) => prefix.startsWith(p))) return undefined;
  if (prefix.length >= maxDepth || !covered.some((p) => p.startsWith(prefix))) return prefix;
  return firstGap(covered, `${prefix}0`, maxDepth) ?? firstGap(covered, `${prefix}1`, maxDepth);
}

/** Levels a part whose owner did not answer is split before it is reported missed (see walkCredentials). */
export const EXPORT_NARROW_LEVELS = 3;

/**
 * Visits the owner of every part of the key space once (spec §2: the zones tile it): routes EXPORT-CREDENTIALS to
 * the centre of the first part no answer has covered yet, adds the owner's zones to what is covered, and goes on
 * until nothing is left or `maxRequests` is spent. When an owner does not answer, its part is split (the half
 * without the point asked is a part like any other; the half with it is split again, `EXPORT_NARROW_LEVELS` times)
 * so that one silent owner costs a few requests and its neighbours are still asked; what stays unanswered is
 * reported missed. Bounded by requests, not by the overlay's claims: an owner whose zones do not hold the point it
 * was asked for counts as silent, never loops.
 */
export async function walkCredentials(
  originate: (target: Point, inner: readonly XppOption[]) => Promise<readonly XppOption[]>,
  dimensions: number,
  grant: Uint8Array,
  maxRequests = DEFAULT_EXPORT_REQUESTS,
): Promise<CredentialExport> {
  const zones = zoneCodec(dimensions);
  const covered: Zone[] = [];
  const missed: string[] = [];
  const pages: Uint8Array[] = [];
  const narrow: { path: string; budget: number }[] = [];
  const done = (): string[] => [...covered.map((z) => z.path), ...missed];
  let requests = 0;
  let owners = 0;
  for (;;) {
    let next = narrow.pop();
    // A part queued for narrowing whose centre an answer covered since: firstGap finds what is left of it.
    while (
      next !== undefined &&
      covered.some((z) => z.contains(Zone.fromPath(dimensions, next!.path).center()))
    )
      next = narrow.pop();
    const gap = next?.path ?? firstGap(done());
    if (gap === undefined) break;
    if (requests >= maxRequests) {
      missed.push(gap, ...narrow.splice(0).map((n) => n.path));
      const rest = firstGap(done());
      if (rest !== undefined) missed.push(rest);
      break;
    }
    const part = Zone.fromPath(dimensions, gap);
    const target = part.center();
    const answer = await askOwner(originate, target, grant, maxRequests - requests, zones);
    requests += answer.requests;
    pages.push(...answer.pages);
    if (answer.zones !== undefined && answer.zones.some((z) => z.contains(target))) {
      owners += 1;
      covered.push(...answer.zones);
      continue;
    }
    const budget = next?.budget ?? EXPORT_NARROW_LEVELS;
    if (budget === 0 || !part.canSplit) {
      missed.push(gap);
      continue;
    }
    const [lower, upper] = part.split();
    const silent = lower.contains(target) ? lower : upper;
    const other = silent === lower ? upper : lower;
    // Both halves spend the budget: a part silent as a whole costs at most 2^(levels+1) − 1 requests.
    narrow.push({ path: other.path, budget: budget - 1 }, { path: silent.path, budget: budget - 1 });
  }
  return { pages, requests, owners, missed };
}

/** One owner's pages for `target` (its zones: undefined when it did not answer every page). */
async function askOwner(
  originate: (target: Point, inner: readonly XppOption[]) => Promise<readonly XppOption[]>,
  target: Point,
  grant: Uint8Array,
  allowed: number,
  zones: ReturnType<typeof zoneCodec>,
): Promise<{ pages: Uint8Array[]; requests: number; zones: Zone[] | undefined }> {
  const pages: Uint8Array[] = [];
  let requests = 0;
  let cursor: string | undefined;
  let owned: Zone[] = [];
  try {
    do {
      if (requests >= allowed) return { pages, requests, zones: undefined };
      requests += 1;
      const response = await originate(target, [
        EXPORT_GRANT.option(grant, true),
        ...(cursor === undefined ? [] : [DhtOption.KEY.option(cursor, true)]),
      ]);
      const page = SEALED.find(response);
      if (page === undefined) return { pages, requests, zones: undefined };
      pages.push(page);
      owned = DhtOption.ZONE.findAll(response).map((z) => zones.decode(z));
      cursor = DhtOption.KEY.find(response);
    } while (cursor !== undefined);
  } catch {
    return { pages, requests, zones: undefined };
  }
  return { pages, requests, zones: owned };
}
