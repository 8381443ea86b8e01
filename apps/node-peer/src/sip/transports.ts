import { readFileSync } from 'node:fs';
import {
  SessionError,
  SipTransportSet,
  StreamSipTransport,
  UdpSipTransport,
  WsSipTransport,
  type SipAddress,
  type StreamLimits,
  type StreamTransportStats,
  type WsTransportStats,
} from '@xpp/session-sdp';
import type { NodeConfig } from '../config.js';
import { NodeError } from '../errors.js';

/**
 * The node's SIP sockets (README "Ports"): UDP and TCP on the SIP port, TLS and WSS on their own when a certificate
 * is configured, plain WS only when its port is given.
 */
export interface NodeSipTransports {
  /** What the node's SIP layer runs over (its `local` is the UDP socket's). */
  readonly set: SipTransportSet;
  readonly tcp: StreamSipTransport;
  readonly tls: StreamSipTransport | undefined;
  readonly ws: WsSipTransport | undefined;
  readonly wss: WsSipTransport | undefined;
  /** The XPP socket of the node's endpoint (opened here because the node adopts both or neither). */
  readonly xpp: UdpSipTransport;
}

/** Tries for a port free for both UDP and TCP when the SIP port is 0 (any). */
const PORT_ATTEMPTS = 8;

/**
 * Opens UDP and TCP on `sipPort` (the same number: a client picks the transport, RFC 3263), TLS on `tlsPort` when
 * `tlsCert`/`tlsKey` are set, and the XPP socket. Rejects with `NodeError` `CONFIG_FILE` when a TLS file can't be
 * read, or the session layer's `TRANSPORT` when a port is taken.
 */
export async function openSipTransports(
  config: Pick<
    NodeConfig,
    | 'host'
    | 'advertise'
    | 'sipPort'
    | 'xppPort'
    | 'tlsPort'
    | 'tlsCert'
    | 'tlsKey'
    | 'wsPort'
    | 'wssPort'
    | 'sipStreamLimits'
  >,
): Promise<NodeSipTransports> {
  const limits: Partial<StreamLimits> = Object.fromEntries(
    Object.entries(config.sipStreamLimits ?? {}).filter(([, v]) => v !== undefined),
  );
  const tlsFiles =
    config.tlsCert === undefined || config.tlsKey === undefined
      ? undefined
      : { cert: readPem(config.tlsCert, 'tlsCert'), key: readPem(config.tlsKey, 'tlsKey') };
  const opened: { close(): Promise<void> }[] = [];
  try {
    const [udp, tcp] = await udpAndTcp(config.host, config.sipPort, limits, opened);
    const tls =
      tlsFiles === undefined
        ? undefined
        : await StreamSipTransport.listen({
            transport: 'TLS',
            address: config.host,
            port: config.tlsPort,
            tls: tlsFiles,
            ...limits,
          });
    if (tls !== undefined) opened.push(tls);
    const wss =
      tlsFiles === undefined
        ? undefined
        : await WsSipTransport.listen({
            transport: 'WSS',
            address: config.host,
            port: config.wssPort,
            tls: tlsFiles,
            ...limits,
          });
    if (wss !== undefined) opened.push(wss);
    const ws =
      config.wsPort === undefined
        ? undefined
        : await WsSipTransport.listen({
            transport: 'WS',
            address: config.host,
            port: config.wsPort,
            ...limits,
          });
    if (ws !== undefined) opened.push(ws);
    const xpp = await UdpSipTransport.open({ address: config.host, port: config.xppPort });
    const streams = [tcp, tls, ws, wss].filter((t) => t !== undefined);
    // Bound to `::` (dual stack): the set names the node by its advertised address of each side's family.
    const set = new SipTransportSet(
      udp,
      streams,
      config.advertise === undefined ? {} : { advertise: config.advertise },
    );
    return { set, tcp, tls, ws, wss, xpp };
  } catch (error) {
    await Promise.all(opened.map((t) => t.close()));
    throw error;
  }
}

async function udpAndTcp(
  host: string,
  port: number,
  limits: Partial<StreamLimits>,
  opened: { close(): Promise<void> }[],
): Promise<[UdpSipTransport, StreamSipTransport]> {
  for (let attempt = 1; ; attempt++) {
    const udp = await UdpSipTransport.open({ address: host, port });
    try {
      const tcp = await StreamSipTransport.listen({
        transport: 'TCP',
        address: host,
        port: udp.local.port,
        ...limits,
      });
      opened.push(udp, tcp);
      return [udp, tcp];
    } catch (error) {
      await udp.close();
      // Port 0: the UDP port the system chose may be taken for TCP; another try picks another.
      if (port !== 0 || attempt >= PORT_ATTEMPTS || !SessionError.is(error)) throw error;
    }
  }
}

function readPem(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (cause) {
    throw new NodeError('CONFIG_FILE', `cannot read ${key} ${path}: ${(cause as Error).message}`, { cause });
  }
}

/** The stream transports' figures for `status` and `/metrics`. */
export interface SipStreamStatus {
  readonly tcp: StreamTransportStats & { connections: number };
  readonly tls?: StreamTransportStats & { connections: number };
  readonly ws?: WsTransportStats & { connections: number };
  readonly wss?: WsTransportStats & { connections: number };
}

export function sipStreamStatus(transports: NodeSipTransports): SipStreamStatus {
  const of = <S>(t: { stats: S; connections: number }) => ({ ...t.stats, connections: t.connections });
  return {
    tcp: of(transports.tcp),
    ...(transports.tls === undefined ? {} : { tls: of(transports.tls) }),
    ...(transports.ws === undefined ? {} : { ws: of(transports.ws) }),
    ...(transports.wss === undefined ? {} : { wss: of(transports.wss) }),
  };
}

/**
 * Calls `listener` with the remote address of every TCP, TLS, WS or WSS connection that closes: a client's RFC
 * 5626 flow over it is dead (the front marks it failed). Returns the unsubscribe of all.
 */
export function onFlowConnectionClosed(
  transports: NodeSipTransports,
  listener: (remote: SipAddress) => void,
): () => void {
  const stops = [transports.tcp, transports.tls, transports.ws, transports.wss]
    .filter((t) => t !== undefined)
    .map((t) => t.onConnectionClosed(listener));
  return () => stops.forEach((stop) => stop());
}
