import { Flag, encodeFragmentHeader } from '@xpp/wire';
import { describe, expect, it } from 'vitest';
import { SessionCipher } from '../src/crypto/session-cipher.js';
import { SessionPort } from '../src/endpoint/session-port.js';
import type { DatagramTransport } from '../src/transport/datagram-transport.js';

const key = (seed: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => (seed + i) & 0xff);

/** A transport that keeps what is sent, as the socket queue would until it has gone out. */
function capture(): { transport: DatagramTransport; sent: Uint8Array[] } {
  const sent: Uint8Array[] = [];
  const transport = {
    local: { address: '127.0.0.1', port: 5060 },
    send: (datagram: Uint8Array) => void sent.push(datagram),
    setReceiver: () => undefined,
    close: async () => undefined,
  } satisfies DatagramTransport;
  return { transport, sent };
}

function datagramOf(seq: number, fill: number): Uint8Array {
  const datagram = new Uint8Array(8 + 100).fill(fill);
  encodeFragmentHeader({ flags: Flag.REL | Flag.LFR, seq, localId: 1, remoteId: 2 }, datagram);
  return datagram;
}

describe('SessionPort', () => {
  // Issue #16's RSS: a slab per session pinned 8 KiB per session, idle or not; the sessions now share one.
  it('seals the datagrams of many sessions into shared slab memory without one overwriting another', () => {
    const { transport, sent } = capture();
    const target = [{ address: '127.0.0.1', port: 40000 }];
    const sessions = Array.from({ length: 8 }, (_, i) => ({
      port: new SessionPort(transport, target, new SessionCipher({ send: key(i), receive: key(100 + i) })),
      peer: new SessionCipher({ send: key(100 + i), receive: key(i) }),
    }));
    // Interleaved, as sessions of one endpoint send: each sealed copy must stay intact until the socket sent it.
    for (let seq = 0; seq < 4; seq++) sessions.forEach(({ port }, i) => port.send(datagramOf(seq, i)));

    expect(new Set(sent.map((d) => d.buffer)).size).toBeLessThan(sessions.length);
    sent.forEach((wire, n) => {
      const i = n % sessions.length;
      const opened = (sessions[i] as (typeof sessions)[number]).peer.openDatagram(wire);
      expect(opened.ok).toBe(true);
      if (opened.ok) expect(opened.datagram.subarray(8).every((b) => b === i)).toBe(true);
    });
  });
});
