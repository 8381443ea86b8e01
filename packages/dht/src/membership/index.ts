// Peer membership crypto (spec xpp-pcan §5): identities, certificates, revocations, authenticated sessions,
// signed origins and enrollment tokens.
export {
  type PeerIdentity,
  PEER_ID_SIZE,
  PEER_PUBLIC_KEY_SIZE,
  generatePeerIdentity,
  importPeerIdentity,
  exportPeerIdentity,
  peerIdOf,
  signWithIdentity,
} from './identity.js';
export { AdminKeySet } from './admin-key-set.js';
export {
  type CertificateRefusal,
  CERTIFICATE_REFUSALS,
  CertificateRefusedError,
  certificateRefusalOf,
} from './refusal.js';
export {
  type PeerCertificate,
  type PeerCertificateInit,
  type CertificatePolicy,
  PEER_CERTIFICATE_VERSION,
  CERTIFICATE_CLOCK_SKEW,
  DEFAULT_CERTIFICATE_DAYS,
  MAX_CERTIFICATE_DOMAIN_SIZE,
  certificateSigningBytes,
  issuePeerCertificate,
  encodePeerCertificate,
  decodePeerCertificate,
  verifyPeerCertificate,
} from './certificate.js';
export { type CertifiedPeer, DEFAULT_CERTIFICATE_CACHE_SIZE, CertificateCache } from './certificate-cache.js';
export {
  type Revocation,
  type RevocationVerifier,
  REVOCATION_VERSION,
  revocationKey,
  issueRevocation,
  encodeRevocation,
  decodeRevocation,
  verifyRevocation,
  createRevocationVerifier,
} from './revocation.js';
export {
  type SessionAuthenticator,
  type WallClock,
  type PeerAuthenticatorOptions,
  createPeerAuthenticator,
} from './peer-authenticator.js';
export { type OriginPolicy, signOrigin, verifyOrigin, createOriginVerifier } from './origin.js';
export {
  type EnrollmentToken,
  type IssuedEnrollmentToken,
  ENROLLMENT_TOKEN_ID_SIZE,
  ENROLLMENT_SECRET_SIZE,
  ENROLLMENT_PROOF_SIZE,
  DEFAULT_ENROLLMENT_DAYS,
  createEnrollmentToken,
  parseEnrollmentToken,
  enrollmentProof,
  checkEnrollmentProof,
  EnrollmentBook,
} from './enrollment.js';
