import type { Socket } from 'node:dgram';
import { ErrorCode, Operation, Option, defaultRegistry } from '@xpp/wire';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Operations,
  ReliabilityError,
  type ReliableChannel,
  bindUdp,
  createUdpChannel,
  socketAddress,
} from '@xpp/reliability';
import { payloadMessage } from './helpers.js';

const sockets: Socket[] = [];
const channels: ReliableChannel[] = [];
afterEach(async () => {
  for (const c of channels.splice(0)) c.close();
  await Promise.all(sockets.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

async function udpPair(options = {}) {
  const [sa, sb] = await Promise.all([bindUdp(), bindUdp()]);
  sockets.push(sa, sb);
  const a = createUdpChannel({ socket: sa, remote: socketAddress(sb), localId: 1, remoteId: 2, ...options });
  const b = createUdpChannel({ socket: sb, remote: socketAddress(sa), localId: 2, remoteId: 1, ...options });
  channels.push(a, b);
  await Promise.all([a.open(), b.open()]);
  return { a, b, sa, sb };
}

async function rejection(promise: Promise<unknown>): Promise<ReliabilityError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!ReliabilityError.is(error)) throw new Error(`expected a ReliabilityError, got ${String(error)}`);
  return error;
}

describe('request/response operations over real UDP', () => {
  it('answers PING with the request DATA and ECHO-SIZE with the requested size', async () => {
    const { a, b } = await udpPair();
    const client = new Operations(a);
    new Operations(b);
    const data = new TextEncoder().encode('hi');
    const pong = await client.request(Operation.PING.type, [Option.DATA.option(data)]);
    expect(pong.response).toBe(true);
    expect([...Option.DATA.require(pong.options)]).toEqual([...data]);
    const echo = await client.request(Operation.ECHO_SIZE.type, [Option.SIZE.option(5000)]);
    expect(Option.DATA.require(echo.options)).toHaveLength(5000);
    expect(client.stats).toMatchObject({ requestsInFlight: 0, requestsSent: 2, responsesReceived: 2 });
  });

  it('dispatches to a handler and maps error responses to typed errors with their code', async () => {
    const { a, b } = await udpPair();
    const client = new Operations(a);
    const server = new Operations(b);
    server.handle(0x4001, (request) => [Option.DATA.option(Option.DATA.require(request.options).reverse())]);
    server.handle(0x4002, () => {
      throw new ReliabilityError('ERROR_RESPONSE', 'busy', { status: ErrorCode.CONFLICT });
    });
    server.handle(0x4003, async () => {
      await Promise.resolve();
      throw new Error('bug');
    });
    const ok = await client.request(0x4001, [Option.DATA.option(new Uint8Array([1, 2, 3]))]);
    expect([...Option.DATA.require(ok.options)]).toEqual([3, 2, 1]);
    expect((await rejection(client.request(0x4002))).status).toBe(409);
    expect((await rejection(client.request(0x4003))).status).toBe(500);
    expect((await rejection(client.request(0x4004))).status).toBe(404);
    expect((await rejection(client.request(0x4001))).status).toBe(400); // DATA missing: a WireError in the handler
  });

  it('answers 420 listing unknown mandatory options, and skips unknown optional ones', async () => {
    const { a, b } = await udpPair();
    const client = new Operations(a);
    new Operations(b, { registry: defaultRegistry });
    const unknown = { type: 0x7abc, mandatory: true, value: new Uint8Array(1) };
    const error = await rejection(
      client.request(Operation.PING.type, [unknown, { ...unknown, type: 0x7abd }]),
    );
    expect(error.code).toBe('ERROR_RESPONSE');
    expect(error.status).toBe(420);
    expect(error.unknownOptions).toEqual([0x7abc, 0x7abd]);
    await client.request(Operation.PING.type, [{ ...unknown, mandatory: false }]);
  });

  it('times out a request without response, honours AbortSignal, and bounds the operation table', async () => {
    const { a, b } = await udpPair();
    const client = new Operations(a, { maxOperations: 2 });
    const server = new Operations(b);
    server.handle(0x4010, () => new Promise(() => {})); // never answers
    const timedOut = await rejection(client.request(0x4010, [], { timeout: 50 }));
    expect(timedOut.code).toBe('REQUEST_TIMEOUT');
    const controller = new AbortController();
    const aborted = client.request(0x4010, [], { signal: controller.signal });
    const pending = client.request(0x4010, [], { timeout: 5000 });
    expect((await rejection(client.request(0x4010))).code).toBe('TOO_MANY_OPERATIONS');
    controller.abort();
    expect((await rejection(aborted)).code).toBe('ABORTED');
    a.close();
    expect((await rejection(pending)).code).toBe('CLOSED');
    expect(client.stats.requestsInFlight).toBe(0);
  });

  it('answers 503 with RETRY-AFTER beyond maxConcurrentHandlers', async () => {
    const { a, b } = await udpPair();
    const client = new Operations(a);
    const server = new Operations(b, { maxConcurrentHandlers: 1 });
    let release = (): void => {};
    server.handle(0x4020, () => new Promise((resolve) => (release = () => resolve([]))));
    const first = client.request(0x4020);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = await rejection(client.request(0x4020));
    expect([second.status, second.retryAfter]).toEqual([503, 1]);
    release();
    await first;
  });

  it('runs 200 sequential round trips', async () => {
    const { a, b } = await udpPair();
    const client = new Operations(a);
    new Operations(b);
    const data = [Option.DATA.option(new Uint8Array(100))];
    for (let i = 0; i < 200; i++) await client.request(Operation.PING.type, data);
    expect(a.stats.srtt).toBeLessThan(50);
  });
});

describe('silent peer over real UDP', () => {
  it('gives up on time with the typed error and frees all state', async () => {
    // Timers scaled down 20× so the real-time test is short; the exact schedule is checked on the fake clock.
    const { a, b, sb } = await udpPair({ initialRto: 25, minRto: 10, maxRto: 200, giveUpAfter: 1600 });
    b.close();
    sb.removeAllListeners('message'); // the peer goes silent
    const started = performance.now();
    const error = await rejection(a.send(payloadMessage(7, 50_000)));
    const elapsed = performance.now() - started;
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toMatch(/request number 7/);
    // The handshake measured a sub-millisecond RTT, so the RTO starts at minRto (10 ms) and doubles to 200:
    // 10+20+40+80+160+200+200 = 710 ms to the 7th retry, give-up one RTO later, before giveUpAfter.
    expect(elapsed).toBeGreaterThan(850);
    expect(elapsed).toBeLessThan(3000); // slack for timers firing late on a loaded CI machine
    expect(a.isClosed).toBe(true);
    expect(a.stats).toMatchObject({
      pendingMessages: 0,
      inFlight: 0,
      outstanding: 0,
      queuedOctets: 0,
      timers: 0,
      heldOctets: 0,
    });
  });
});
