export { DhtError, DHT_ERROR_STATUS, type DhtErrorCode } from './errors.js';
export { type Clock, systemClock } from './clock.js';
export { RecordKind, isRecordKind, isLasting, parseRecordKind, recordKindName } from './kinds.js';
export {
  MIN_PEER_ID_SIZE,
  MAX_PEER_ID_SIZE,
  MIN_POINT_SIZE,
  MAX_POINT_SIZE,
  MAX_ZONE_SIZE,
  MAX_ZONES_PER_PEER,
  MAX_CANDIDATES,
  MAX_URI_SIZE,
  MAX_KEY_SIZE,
  DEFAULT_HOP_LIMIT,
  MAX_HOP_LIMIT,
} from './limits.js';
export {
  type CandidateType,
  type AddressCandidate,
  type Contact,
  type NeighbourInfo,
  type PeerRecord,
  type Binding,
  type BindingId,
  type WireRecord,
  contactCodec,
  peerRecordCodec,
  bindingIdCodec,
  bindingCodec,
  bindingSubkey,
} from './values.js';
export { DhtOperation } from './operations.js';
export {
  type OriginAuthority,
  unverifiedOrigin,
  membershipOrigin,
  originBytes,
  withOrigin,
  originOf,
} from './origin.js';
export {
  type BindChange,
  type RegisterBindRequest,
  type AuthorizeRequest,
  type BindResponse,
  encodeRegisterBind,
  decodeRegisterBind,
  encodeAuthorize,
  decodeAuthorize,
  encodeBindResponse,
  decodeBindResponse,
} from './bind-messages.js';
export { MAX_ORIGIN_SIZE, digestFieldsCodec, verdictCodec, originCodec } from './bind-values.js';
export { DhtOption, type RecordPiece, type ReplicaDigest } from './options.js';
// The bodies of the requests a client of the overlay sends (ROUTE, PUT, GET, REMOVE) and their answers; the
// overlay's own upkeep (JOIN, LEAVE, NEIGHBOUR-UPDATE, TAKEOVER, REPLICATE) is spoken by `OverlayNode` alone.
export {
  type RouteRequest,
  type PutRequest,
  type PutResponse,
  type GetRequest,
  type RecordsBody,
  type RemoveRequest,
  encodeRoute,
  decodeRoute,
  encodePut,
  decodePut,
  encodePutResponse,
  decodePutResponse,
  encodeGet,
  decodeGet,
  encodeRecords,
  decodeRecords,
  encodeRemove,
  decodeRemove,
} from './messages.js';
// RELAY-CONNECT (docs/decisions/dht-nat.md part 4): exported for its codec vectors and attack tests.
export {
  type RelayConnectRequest,
  encodeRelayConnect,
  decodeRelayConnect,
  encodeRelayConnectResponse,
  decodeRelayConnectResponse,
} from './messages.js';
export {
  type SessionOffer,
  sessionOfferCodec,
  sessionAnswerCodec,
  MAX_RELAYED_SDP_OCTETS,
  MAX_RELAY_CALL_ID_OCTETS,
} from './relay-values.js';
export {
  type RecordRole,
  type StoredRecord,
  type PutInput,
  type PutResult,
  type RemoveReason,
  type StoreChange,
  type RecordPredicate,
  type RecordStoreOptions,
  type StoreStats,
  type StoreLimits,
  type InsertResult,
  DEFAULT_STORE_LIMITS,
  RECORD_OVERHEAD,
  LASTING_LIFETIME,
  RecordStore,
  MemoryRecordStore,
} from './store.js';
export { type AdminRecordChecks, DEFAULT_TOMBSTONE_RETENTION } from './credential-book.js';
export type { WriterRefusal } from './writer-quota.js';
export { MAX_AOR_LENGTH, normaliseAor, aorUser } from './aor.js';
export {
  type AdminKeyPair,
  ADMIN_PUBLIC_KEY_SIZE,
  ADMIN_PRIVATE_KEY_SEED_SIZE,
  generateAdminKeyPair,
  exportAdminPublicKey,
  importAdminPublicKey,
  exportAdminPrivateKey,
  importAdminPrivateKey,
} from './admin-keys.js';
export {
  type DigestAlgorithm,
  type Credential,
  type SignedCredential,
  type CredentialInit,
  type CredentialVerifier,
  SIGNATURE_SIZE,
  computeHa1,
  createCredential,
  credentialSigningBytes,
  signCredential,
  encodeCredential,
  decodeCredential,
  verifyCredential,
  createCredentialVerifier,
} from './credential.js';
export {
  type CredentialRemoval,
  type PublicCredential,
  type CredentialRecordValue,
  type RemovalVerifier,
  signCredentialRemoval,
  encodeCredentialRemoval,
  encodePublicCredential,
  publicCredential,
  decodeCredentialRecord,
  verifyCredentialRemoval,
  createRemovalVerifier,
} from './credential-record.js';
export {
  type DigestResponseFields,
  parseDigestAlgorithm,
  assertSupportedDigest,
  computeDigestResponse,
  verifyDigest,
} from './digest.js';
export {
  type NodeLoad,
  type InviteCandidate,
  type InvitePolicy,
  type DefaultInvitePolicyOptions,
  DEFAULT_INVITE_POLICY,
  createDefaultInvitePolicy,
  advertisesXppPeer,
} from './invite-policy.js';
export { OverlayNode } from './node/overlay-node.js';
export {
  CREDENTIAL_EXPORT_LABEL,
  EXPORT_GRANT_VALIDITY_MS,
  EXPORT_GRANT_SKEW_MS,
  MAX_EXPORT_PAGE_OCTETS,
  createExportGrant,
  verifyExportGrant,
  sealExport,
  openExport,
  type ExportGrant,
} from './credential-export.js';
export { DEFAULT_EXPORT_REQUESTS, type CredentialExport } from './node/credential-export-walk.js';
export {
  OVERLAY_NODE_DEFAULTS,
  type OverlayNodeOptions,
  type NodeMembership,
  type OverlayNodeState,
  type OverlayNodeStats,
  type NeighbourSummary,
} from './node/node-options.js';
export type {
  OverlayNodeEvents,
  ZoneChangeCause,
  NeighbourDownReason,
  NeighbourEvent,
  ZoneChangeEvent,
  TakeoverEvent,
  LeaveEvent,
  ReplicatedEvent,
} from './node/events.js';
export { DEFAULT_REPLICAS } from './node/replication.js';
export type { ReplicationStats } from './node/replicator.js';
export {
  type LocationStorage,
  type RegisteredBinding,
  type DigestVerdict,
  type LocationServiceOptions,
  type RegisterBindResult,
  DEFAULT_CREDENTIAL_CACHE_MS,
  DEFAULT_PEER_CACHE_MS,
  MAX_CACHED_PEERS,
  DEFAULT_MAX_CACHED_CREDENTIALS,
  UNKNOWN_USER_CACHE_MS,
  REMOVED_BINDING_LIFETIME,
  LocationService,
  peerRecordKey,
} from './location-service.js';
export * from './membership/index.js';
