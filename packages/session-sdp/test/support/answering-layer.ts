import {
  SipTransactionLayer,
  SipTransportSet,
  UdpSipTransport,
  createResponse,
  type SipAddress,
} from '@xpp/session-sdp';

type StreamMember = NonNullable<ConstructorParameters<typeof SipTransportSet>[1]>[number];

/**
 * A SIP layer answering 200 to every request, over UDP and `streams`, with the source of each request in
 * `sources`. Its clean-ups go on `closers`.
 */
export async function answeringLayer(
  streams: readonly StreamMember[],
  closers: (() => unknown)[],
): Promise<{ layer: SipTransactionLayer; udp: UdpSipTransport; sources: SipAddress[] }> {
  const udp = await UdpSipTransport.open();
  const set = new SipTransportSet(udp, streams);
  const sources: SipAddress[] = [];
  const layer = new SipTransactionLayer({
    transport: set,
    onRequest: (request, transaction, source) => {
      sources.push(source);
      transaction?.respond(createResponse(request, 200));
    },
  });
  closers.push(
    () => set.close(),
    () => layer.close(),
  );
  return { layer, udp, sources };
}
