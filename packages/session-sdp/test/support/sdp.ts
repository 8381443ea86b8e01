import { SessionError, buildSdp, parseSdp, type XppDescription } from '@xpp/session-sdp';

/** The `SessionError` that parsing `text` throws, or undefined when it parses; any other throw fails the test. */
export function sdpParseError(text: string): SessionError | undefined {
  try {
    parseSdp(text);
    return undefined;
  } catch (error) {
    if (!SessionError.is(error)) throw error;
    return error;
  }
}

/**
 * The SDP of `description` with `line` added right after its `a=<after>:` line: an attribute the builder would
 * not write (a malformed or duplicate value) where the codec reads it.
 */
export function sdpWithLine(description: XppDescription, after: string, line: string): string {
  const at = new RegExp(`a=${after}:[^\\r]*\\r\\n`);
  return buildSdp(description).replace(at, (found) => `${found}${line}\r\n`);
}
