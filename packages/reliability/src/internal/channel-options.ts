import { DEFAULT_MAX_FRAGMENTS_AHEAD, DEFAULT_PARTIAL_TIMEOUT, DEFAULT_RECEIVE_WINDOW } from '@xpp/fragment';
import { DEFAULT_DATAGRAM_SIZE, DEFAULT_MAX_MESSAGE_SIZE } from '@xpp/wire';
import type { ChannelOptions } from '../channel-types.js';
import { Defaults } from '../constants.js';
import { ReliabilityError } from '../errors.js';

/** Every numeric option of a channel, defaults applied. */
export type ResolvedChannelOptions = Required<
  Omit<ChannelOptions, 'port' | 'clock' | 'random' | 'initialSeq' | 'peerInitialSeq' | 'allocate'>
>;

/** Applies the defaults of {@link Defaults} and the fragment layer, and rejects values out of range. */
export function resolveChannelOptions(options: ChannelOptions): ResolvedChannelOptions {
  const o: ResolvedChannelOptions = {
    localId: options.localId,
    remoteId: options.remoteId,
    maxDatagramSize: options.maxDatagramSize ?? DEFAULT_DATAGRAM_SIZE,
    maxMessageSize: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
    receiveWindow: options.receiveWindow ?? DEFAULT_RECEIVE_WINDOW,
    maxFragmentsAhead: options.maxFragmentsAhead ?? DEFAULT_MAX_FRAGMENTS_AHEAD,
    partialTimeout: options.partialTimeout ?? DEFAULT_PARTIAL_TIMEOUT,
    peerReceiveWindow: options.peerReceiveWindow ?? Defaults.peerReceiveWindow,
    peerMaxFragmentsAhead: options.peerMaxFragmentsAhead ?? Defaults.peerMaxFragmentsAhead,
    initialRto: options.initialRto ?? Defaults.initialRto,
    minRto: options.minRto ?? Defaults.minRto,
    maxRto: options.maxRto ?? Defaults.maxRto,
    maxRetries: options.maxRetries ?? Defaults.maxRetries,
    giveUpAfter: options.giveUpAfter ?? Defaults.giveUpAfter,
    initialWindow: options.initialWindow ?? Defaults.initialWindow,
    dupThreshold: options.dupThreshold ?? Defaults.dupThreshold,
    keepaliveInterval: options.keepaliveInterval ?? Defaults.keepaliveInterval,
    keepaliveMisses: options.keepaliveMisses ?? Defaults.keepaliveMisses,
    maxQueuedOctets: options.maxQueuedOctets ?? Defaults.maxQueuedOctets,
    maxBufferedMessages: options.maxBufferedMessages ?? Defaults.maxBufferedMessages,
    maxAckRanges: options.maxAckRanges ?? Defaults.maxAckRanges,
    ackHistory: options.ackHistory ?? Defaults.ackHistory,
    minProbeTimeout: options.minProbeTimeout ?? Defaults.minProbeTimeout,
    ackDelay: options.ackDelay ?? Defaults.ackDelay,
    ackEvery:
      options.ackEvery ?? (options.piggybackAcks === true ? Defaults.piggybackAckEvery : Defaults.ackEvery),
    piggybackAcks: options.piggybackAcks ?? false,
  };
  for (const [name, value] of Object.entries(o)) checkOption(name, value);
  checkOption('localId', o.localId, 0xffff);
  checkOption('remoteId', o.remoteId, 0xffff);
  if (o.peerMaxFragmentsAhead >= 0x8000) {
    throw new ReliabilityError('INVALID_OPTION', 'peerMaxFragmentsAhead must stay below 32768 (spec §2)');
  }
  return o;
}

export function checkOption(name: string, value: unknown, max = 2 ** 32): void {
  if (typeof value !== 'number') return;
  if (!Number.isFinite(value) || value < 0 || value > max) {
    throw new ReliabilityError(
      'INVALID_OPTION',
      `${name} must be a number in 0..${max}, got ${String(value)}`,
    );
  }
}
