/** A body to send with its Content-Type. */
export interface SipBody {
  readonly contentType: string;
  readonly body: Uint8Array | string;
}

/** The octets of `body`: a string as UTF-8. */
export function bodyBytes(body: Uint8Array | string): Uint8Array {
  return typeof body === 'string' ? new Uint8Array(Buffer.from(body, 'utf8')) : body;
}
