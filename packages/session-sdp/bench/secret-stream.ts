// The encrypted stream users compare XPP's secured sessions with: @hyperswarm/secret-stream (Noise XX handshake,
// then libsodium secretstream) over a udx-native stream, as hyperdht connects peers. Neither package ships types:
// the few calls used are named here and in @xpp/test-kit's udx module.
import { createRequire } from 'node:module';
import type { UdxConstructor, UdxInstance, UdxSocket, UdxStream } from '@xpp/test-kit';
import { peerProcess } from './peer-process.js';

export interface SecretStream {
  /** Resolves once the Noise handshake is done (false if the stream was destroyed first). */
  readonly opened: Promise<boolean>;
  write(data: Uint8Array): boolean;
  destroy(): void;
  on(event: 'data', listener: (data: Buffer) => void): void;
  on(event: 'error' | 'close', listener: () => void): void;
  once(event: 'drain', listener: () => void): void;
}
type SecretStreamConstructor = new (isInitiator: boolean, rawStream: UdxStream) => SecretStream;

const require = createRequire(import.meta.url);

/**
 * A udx-native socket bound on loopback with one stream on it; `connect` connects the stream to the other end's
 * and only then wraps it by SecretStream (the initiator writes its first handshake message at once).
 */
export function secretStreamEnd(initiator: boolean): {
  socket: UdxSocket;
  connect(remotePort: number): SecretStream;
} {
  const UDX = require('udx-native') as UdxConstructor;
  const SecretStream = require('@hyperswarm/secret-stream') as SecretStreamConstructor;
  const udx: UdxInstance = new UDX();
  const socket = udx.createSocket();
  socket.bind(0, '127.0.0.1');
  // stream ids: the initiator's is 1, the responder's 2; each connects to the other's
  const raw = udx.createStream(initiator ? 1 : 2);
  return {
    socket,
    connect: (remotePort) => {
      raw.connect(socket, initiator ? 2 : 1, remotePort, '127.0.0.1');
      const secure = new SecretStream(initiator, raw);
      secure.on('error', () => {}); // the sender tears the stream down when done
      return secure;
    },
  };
}

/**
 * MB/s of `count` chunks of `chunk` octets one way through SecretStream over udx-native to a receiver in its own
 * process (bench/baseline-peer.ts), timed from the first write (handshake done) to the receiver's word that the
 * last octet arrived.
 */
export async function secretStreamGoodput(chunk: number, count: number): Promise<number> {
  const total = chunk * count;
  const peer = peerProcess('./baseline-peer.ts', ['secret-stream', String(total)]);
  const end = secretStreamEnd(true);
  const remotePort = Number(await peer.line());
  peer.write(String(end.socket.address().port));
  const secure = end.connect(remotePort);
  if (!(await secure.opened)) throw new Error('secret-stream handshake failed');
  const data = new Uint8Array(chunk).fill(7);
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    if (!secure.write(data)) await new Promise<void>((resolve) => secure.once('drain', resolve));
  }
  const done = await peer.line();
  const ms = performance.now() - start;
  if (done !== `received ${total}`) throw new Error(`secret-stream receiver said ${done}`);
  secure.destroy();
  await peer.stop();
  await end.socket.close();
  return total / (ms / 1000) / 1e6;
}
