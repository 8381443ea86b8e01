import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  SessionError,
  SipTransportSet,
  StreamSipTransport,
  UdpSipTransport,
  type SipAddress,
} from '@xpp/session-sdp';
import { closersAfterEach, until } from './support/closers.js';

// Issue #20 item 6: a transport bound to `::` serves IPv4 too; above the socket IPv4 peers are plain IPv4 addresses,
// and the set names itself by one advertised address per family.
const closers = closersAfterEach();

describe('dual stack', () => {
  it('a UDP socket on :: sees an IPv4 sender as 127.0.0.1 and answers it there', async () => {
    const udp = await UdpSipTransport.open({ address: '::' });
    closers.push(() => udp.close());
    const got: SipAddress[] = [];
    udp.setReceiver((_, source) => got.push(source));
    const v4 = createSocket('udp4');
    closers.push(() => new Promise<void>((resolve) => v4.close(() => resolve())));
    const echoed: string[] = [];
    v4.on('message', (m) => echoed.push(m.toString()));
    await new Promise<void>((resolve) => v4.bind(0, '127.0.0.1', resolve));
    v4.send('ping', udp.local.port, '127.0.0.1');
    await until(() => got.length === 1);
    expect(got[0]).toEqual({ address: '127.0.0.1', port: v4.address().port });
    // Sent to the plain IPv4 address (a udp6 socket alone would refuse it with EINVAL).
    udp.send(new TextEncoder().encode('pong'), got[0]!);
    await until(() => echoed.length === 1);
    expect(echoed).toEqual(['pong']);
  });

  it('a TCP listener on :: counts and names an IPv4 client as 127.0.0.1', async () => {
    const tcp = await StreamSipTransport.listen({ transport: 'TCP', address: '::', port: 0 });
    closers.push(() => tcp.close());
    const closed: SipAddress[] = [];
    tcp.onConnectionClosed((remote) => closed.push(remote));
    const socket = connect({ host: '127.0.0.1', port: tcp.local.port });
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    await until(() => tcp.connections === 1);
    const port = socket.localPort;
    socket.destroy();
    await until(() => closed.length === 1);
    expect(closed[0]).toEqual({ address: '127.0.0.1', port, transport: 'TCP' });
  });

  it('a set bound to :: names itself by the advertised address of the family asked, the first by default', async () => {
    const udp = await UdpSipTransport.open({ address: '::' });
    closers.push(() => udp.close());
    const set = new SipTransportSet(udp, [], { advertise: ['127.0.0.1', '::1'] });
    expect(set.local).toEqual({ address: '127.0.0.1', port: udp.local.port });
    expect(set.localFor('UDP', 6)).toEqual({ address: '::1', port: udp.local.port });
    expect(set.localFor('UDP', 4)).toEqual({ address: '127.0.0.1', port: udp.local.port });
    expect(set.localFor('TCP', 6)).toBeUndefined();
  });

  it('refuses a wildcard bind without advertised addresses, and two of one family', async () => {
    const udp = await UdpSipTransport.open({ address: '::' });
    closers.push(() => udp.close());
    const code = (f: () => unknown) => {
      try {
        f();
        return 'none';
      } catch (error) {
        return SessionError.is(error) ? error.code : 'other';
      }
    };
    expect(code(() => new SipTransportSet(udp))).toBe('INVALID_ARGUMENT');
    expect(code(() => new SipTransportSet(udp, [], { advertise: ['::1', 'fd00::1'] }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(code(() => new SipTransportSet(udp, [], { advertise: ['localhost'] }))).toBe('INVALID_ARGUMENT');
  });
});
