import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SessionError, SipStreamFramer, decodeSip, type SipStreamFrame } from '@xpp/session-sdp';

const enc = (s: string) => Buffer.from(s, 'latin1');

function request(i: number, body = ''): string {
  return [
    `OPTIONS sip:u${i}@example.com SIP/2.0`,
    `Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK-${i}`,
    'From: <sip:a@example.com>;tag=1',
    'To: <sip:b@example.com>',
    `Call-ID: c${i}`,
    `CSeq: ${i + 1} OPTIONS`,
    'Max-Forwards: 70',
    `Content-Length: ${Buffer.byteLength(body, 'latin1')}`,
    '',
    body,
  ].join('\r\n');
}

/** Splits `bytes` at the given cut points (any order, duplicates allowed). */
function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let at = 0;
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.subarray(at, p));
    at = p;
  }
  return chunks;
}

function feed(framer: SipStreamFramer, chunks: readonly Uint8Array[]): SipStreamFrame[] {
  return chunks.flatMap((c) => framer.push(c));
}

const text = (frames: SipStreamFrame[]) =>
  frames.map((f) => (f.kind === 'message' ? Buffer.from(f.data).toString('latin1') : f.kind));

describe('SipStreamFramer', () => {
  it('cuts messages by Content-Length, bodies included, and every one decodes', () => {
    const stream = request(1, 'hello') + request(2) + request(3, 'x\r\n\r\ny');
    const frames = new SipStreamFramer().push(enc(stream));
    expect(text(frames)).toEqual([request(1, 'hello'), request(2), request(3, 'x\r\n\r\ny')]);
    for (const f of frames) if (f.kind === 'message') expect(decodeSip(f.data).ok).toBe(true);
  });

  it('answers CRLF CRLF between messages as a ping, and skips a lone CRLF (a pong)', () => {
    const framer = new SipStreamFramer();
    expect(text(framer.push(enc(`\r\n\r\n${request(1)}\r\n\r\n\r\n${request(2)}\r\n`)))).toEqual([
      'ping',
      request(1),
      'ping',
      request(2),
    ]);
    // The trailing CRLF may still become a ping: held (not a partial message), so the framer is at a boundary.
    expect(framer.pongs).toBe(1);
    expect(framer.atBoundary).toBe(true);
  });

  it('compact `l:` and folded headers carry the length', () => {
    const m = request(1, 'abc').replace('Content-Length: 3', 'l:\r\n 3');
    expect(text(new SipStreamFramer().push(enc(m)))).toEqual([m]);
  });

  it('a message with no Content-Length is a framing error that keeps the header block (to answer 400)', () => {
    const framer = new SipStreamFramer();
    const frames = framer.push(enc(request(1).replace('Content-Length: 0\r\n', '') + request(2)));
    expect(frames).toHaveLength(1);
    const [error] = frames;
    expect(error?.kind).toBe('error');
    if (error?.kind !== 'error') return;
    expect(error.error.code).toBe('BAD_SIP');
    expect(Buffer.from(error.header ?? []).toString()).toMatch(/^OPTIONS /);
    expect(framer.failed).toBe(true);
    expect(framer.push(enc(request(3)))).toEqual([]);
  });

  it('conflicting or non-numeric Content-Length is a framing error', () => {
    for (const bad of [
      'Content-Length: 0\r\nContent-Length: 4',
      'Content-Length: -1',
      'Content-Length: 1e3',
    ]) {
      const [frame] = new SipStreamFramer().push(enc(request(1).replace('Content-Length: 0', bad)));
      expect(frame?.kind === 'error' && frame.error.code).toBe('BAD_SIP');
    }
  });

  it('a header block or a body beyond the limits is TOO_LARGE, before it is buffered', () => {
    const framer = new SipStreamFramer({ maxHeaderOctets: 1024, maxBodyOctets: 100 });
    const [big] = framer.push(
      enc(request(1).replace('Max-Forwards', `X: ${'a'.repeat(2000)}\r\nMax-Forwards`)),
    );
    expect(big?.kind === 'error' && big.error.code).toBe('TOO_LARGE');
    const endless = new SipStreamFramer({ maxHeaderOctets: 1024 });
    let frames: SipStreamFrame[] = [];
    for (let i = 0; i < 100 && frames.length === 0; i++) frames = endless.push(enc('X: aaaaaaaaaaaaaa\r\n'));
    expect(frames[0]?.kind === 'error' && frames[0].error.code).toBe('TOO_LARGE');
    const [body] = new SipStreamFramer({ maxBodyOctets: 100 }).push(
      enc(request(1).replace('Content-Length: 0', 'Content-Length: 101')),
    );
    expect(body?.kind === 'error' && body.error.code).toBe('TOO_LARGE');
  });

  it('a Content-Length larger than the body waits (the transport times it out), holding no more than it', () => {
    const framer = new SipStreamFramer();
    expect(
      framer.push(enc(request(1).replace('Content-Length: 0', 'Content-Length: 500') + 'short')),
    ).toEqual([]);
    expect(framer.atBoundary).toBe(false);
  });

  it('any chunking of a valid stream yields the same frames', () => {
    const message = fc
      .tuple(fc.nat(1000), fc.string({ maxLength: 300 }), fc.boolean())
      .map(([i, body, ping]) => (ping ? '\r\n\r\n' : '') + request(i, Buffer.from(body).toString('latin1')));
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (messages, cuts) => {
          const stream = enc(messages.join(''));
          const whole = text(new SipStreamFramer().push(stream));
          const pieces = text(feed(new SipStreamFramer(), chunked(stream, cuts)));
          expect(pieces).toEqual(whole);
          expect(whole.filter((f) => f !== 'ping')).toHaveLength(messages.length);
        },
      ),
    );
  });

  it('hostile input never throws, yields only typed errors, and never holds more than the limits', () => {
    const limits = { maxHeaderOctets: 2048, maxBodyOctets: 4096 };
    const fragment = fc.oneof(
      fc.uint8Array({ maxLength: 600 }),
      fc
        .constantFrom('\r\n', '\r\n\r\n', 'Content-Length: 99999\r\n', 'l: 5\r\n', 'INVITE sip:x SIP/2.0\r\n')
        .map(enc),
      fc.nat(3000).map((n) => enc(request(n))),
    );
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 60 }), (chunks) => {
        const framer = new SipStreamFramer(limits);
        for (const chunk of chunks) {
          const frames = framer.push(chunk);
          for (const f of frames) if (f.kind === 'error') expect(SessionError.is(f.error)).toBe(true);
          // At most one header block, one body and the chunk being read.
          expect(framer.buffered).toBeLessThanOrEqual(
            limits.maxHeaderOctets + 4 + limits.maxBodyOctets + chunk.length,
          );
        }
      }),
    );
  });

  it('one octet at a time costs linear time (no rescanning, no copy per octet)', () => {
    const stream = enc(request(1, 'b'.repeat(60_000)).repeat(4));
    const framer = new SipStreamFramer();
    const started = performance.now();
    let messages = 0;
    for (let i = 0; i < stream.length; i++) messages += framer.push(stream.subarray(i, i + 1)).length;
    expect(messages).toBe(4);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
