import { SessionError } from '../errors.js';

/** Bound on a Call-ID this package sends (`InviteOptions.callId`). */
export const MAX_CALL_ID_LENGTH = 256;

/** RFC 3261 §25.1 `word` characters. */
const WORD = String.raw`[A-Za-z0-9\-.!%*_+` + '`' + String.raw`'~()<>:\\"/[\]?{}]+`;
/** `callid = word [ "@" word ]`. */
const CALL_ID = new RegExp(`^${WORD}(@${WORD})?$`);

/** Throws `INVALID_ARGUMENT` unless `callId` is one this package may send: RFC 3261 syntax, bounded. */
export function checkCallId(callId: string): void {
  if (callId.length > MAX_CALL_ID_LENGTH || !CALL_ID.test(callId)) {
    throw new SessionError(
      'INVALID_ARGUMENT',
      `Call-ID ${JSON.stringify(callId.slice(0, 40))} is not a callid`,
    );
  }
}
