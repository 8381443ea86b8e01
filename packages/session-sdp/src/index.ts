export { SessionError, type SessionErrorCode, type SessionErrorDetails } from './errors.js';
export { type Clock, type TimerHandle, systemClock } from '@xpp/reliability';
export type {
  TransportAddress,
  CandidateType,
  XppCandidate,
  XppDescription,
  ParsedXppDescription,
  BuildSdpOptions,
} from './sdp/description.js';
export {
  XPP_SDP_PROTOCOL,
  DEFAULT_MAX_SDP_OCTETS,
  DEFAULT_MAX_CANDIDATES,
  X25519_PUBLIC_KEY_SIZE,
  XPP_OVERLAY_ID_SIZE,
  MAX_XPP_AUTH_OCTETS,
  type ParseSdpOptions,
  buildSdp,
  parseSdp,
} from './sdp/sdp.js';
export {
  SDP_CONTENT_TYPE,
  type XppCallSetup,
  type XppSignallingOptions,
  offerXppSession,
  answerXppSession,
} from './sdp/signalling.js';

export { SipHeaders, type SipHeader, headerKey, headerDisplayName } from './sip/headers.js';
export {
  type SipRequest,
  type SipResponse,
  type SipMessage,
  REASON_PHRASES,
  bodyText,
} from './sip/message.js';
export { type SipParams, parseParams, formatParams } from './sip/params.js';
export { type SipUri, parseSipUri, formatSipUri, formatHost } from './sip/uri.js';
export { type NameAddr, parseNameAddr, formatNameAddr, tagOf } from './sip/name-addr.js';
export {
  type Via,
  BRANCH_MAGIC_COOKIE,
  parseVia,
  formatVia,
  branchOf,
  stampReceived,
  responseTarget,
} from './sip/via.js';
export {
  DEFAULT_MAX_SIP_MESSAGE_OCTETS,
  DEFAULT_MAX_SIP_HEADERS,
  DEFAULT_MAX_SIP_HEADER_OCTETS,
  MAX_CSEQ,
  type SipCodecLimits,
  type SipDecodeResult,
  parseSipMessage,
  decodeSip,
  parseCSeq,
  serializeSip,
  createResponse,
} from './sip/codec.js';
export {
  type SipTransport,
  type DatagramReceiver,
  type SipAddress,
  type SipTransportName,
  isStreamTransport,
} from './sip/transport.js';
// Datagrams that are not SIP, answered or diverted on the SIP socket (SipTransactionLayer.addDatagramFilter).
export type { DatagramFilter, InboundDatagram } from './sip/transport.js';
export { UdpSipTransport, type UdpSipTransportOptions } from './sip/udp-transport.js';
export {
  SipStreamFramer,
  type SipStreamFrame,
  type SipStreamFramerLimits,
  DEFAULT_STREAM_MAX_HEADER_OCTETS,
  DEFAULT_STREAM_MAX_BODY_OCTETS,
} from './sip/stream-framer.js';
export {
  StreamSipTransport,
  type StreamSipTransportOptions,
  type StreamTransportStats,
  type StreamLimits,
  DEFAULT_STREAM_LIMITS,
} from './sip/stream-transport.js';
export { SipTransportSet, type SipTransportSetOptions } from './sip/transport-set.js';
export {
  WsSipTransport,
  SIP_WS_SUBPROTOCOL,
  type WsSipTransportOptions,
  type WsTransportStats,
  type WsCloseReason,
} from './sip/ws-transport.js';
export { DEFAULT_SIP_TIMERS, type SipTimerValues, type SipTimerName } from './sip/timer-set.js';
export type {
  ClientTransactionUser,
  ClientTransactionState,
  ServerTransactionState,
} from './sip/transaction-context.js';
export { ClientTransaction, type ClientTransactionEvent, ackForFailure } from './sip/client-transaction.js';
export { ServerTransaction, type ServerTransactionEvent } from './sip/server-transaction.js';
export {
  TransactionAdmission,
  DEFAULT_SERVER_TRANSACTION_LIMITS,
  admissionClassOf,
  isLoopback,
  type AdmissionClass,
  type AdmissionRefusal,
  type AdmissionResult,
  type AdmissionTicket,
  type ServerTransactionLimits,
  type TransactionAdmissionPolicy,
} from './sip/admission.js';
export { statelessToTag } from './sip/stateless.js';
export {
  SipTransactionLayer,
  DEFAULT_MAX_TRANSACTIONS,
  type OverloadReason,
  type SipLayerStats,
  type SipTransactionLayerOptions,
} from './sip/transaction-layer.js';
export { SipDialog, type DialogState } from './sip/dialog.js';
export { SipCall, type CallEndReason } from './sip/call.js';
export { MAX_CALL_ID_LENGTH } from './sip/call-id.js';
export {
  SipUserAgent,
  DEFAULT_MAX_CALLS,
  DEFAULT_ANSWER_TIMEOUT_MS,
  type SipUserAgentOptions,
  type SipRequestHook,
  type InviteOptions,
} from './sip/user-agent.js';
export { IncomingInvite } from './sip/incoming-invite.js';
export type { SipBody } from './sip/body.js';

export {
  KEY_SIZE,
  type XppKeyPair,
  type DirectionalKeys,
  generateXppKeyPair,
  deriveDirectionalKeys,
} from './crypto/keys.js';
export { DEFAULT_REPLAY_WINDOW, MAX_REPLAY_WINDOW } from './crypto/replay-window.js';
// The session table is the endpoint's own; its drop reasons are part of `EndpointDropReason`.
export type { DropReason } from './demux/session-table.js';
export {
  SessionCipher,
  COUNTER_SIZE,
  TAG_SIZE,
  SEAL_OVERHEAD,
  MAX_COUNTER,
  type OpenFailure,
  type OpenResult,
  type OpenDatagramResult,
  type CipherStats,
} from './crypto/session-cipher.js';

export {
  STUN_MAGIC_COOKIE,
  STUN_HEADER_SIZE,
  MAX_STUN_ATTRIBUTES,
  StunType,
  StunAttribute,
  type StunMessage,
  type StunAttributeValue,
  isStunMessage,
  newStunTransactionId,
  encodeStunMessage,
  decodeStunMessage,
  encodeMappedAddress,
  readMappedAddress,
} from './stun/codec.js';
export {
  stunBinding,
  DEFAULT_STUN_RTO_MS,
  DEFAULT_STUN_MAX_REQUESTS,
  DEFAULT_STUN_LAST_WAIT_FACTOR,
  type StunBindingOptions,
  type StunBindingEvent,
} from './stun/binding.js';
export { StunResponder, DEFAULT_STUN_ANSWERS_PER_SECOND, type StunRefusal } from './stun/responder.js';
export { XppEndpoint } from './endpoint/xpp-endpoint.js';
export type {
  XppEndpointOptions,
  SecurityPolicy,
  PreparedSession,
  OpenOptions,
  EndpointStats,
  EndpointDropReason,
} from './endpoint/endpoint-types.js';
export { XppSession, type XppSessionEvents, type XppSessionStats } from './endpoint/xpp-session.js';
export { placeXppCall, acceptXppCall, type XppCall, type XppCallAuthOptions } from './endpoint/xpp-call.js';
// Offer and answer carried by other means than SIP (an overlay's links through a relay, docs/decisions/dht-nat.md).
export {
  offerXppDescription,
  answerXppDescription,
  type XppOffer,
  type XppExchangeOptions,
  type ExchangedSession,
} from './endpoint/xpp-offer.js';
export {
  DatagramRelay,
  DEFAULT_RELAY_LIMITS,
  type DatagramRelayLimits,
  type DatagramRelayStats,
  type RelayAllocation,
  type RelayDropReason,
  type RelaySide,
} from './relay/datagram-relay.js';
export {
  AUTH_TRANSCRIPT_LABEL,
  authTranscript,
  type SessionAuthenticator,
  type TranscriptSide,
} from './endpoint/session-auth.js';
export type { DatagramTransport } from './transport/datagram-transport.js';
