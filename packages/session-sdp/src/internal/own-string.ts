/**
 * A copy of `text` that owns its characters. V8 makes a substring of 13 characters or more a slice of its parent,
 * so a header value kept from a received SIP message (a dialog's Call-ID, a call's Content-Type) would keep the
 * whole message's text alive for as long as it is kept — for a dialog, the call's life (issue #16's memory per
 * peer). UTF-16 round trip: exact for any string, lone surrogates included.
 */
export function ownString(text: string): string {
  return text.length < 13 ? text : Buffer.from(text, 'utf16le').toString('utf16le');
}
