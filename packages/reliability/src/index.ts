export { ReliabilityError, type ReliabilityErrorCode, type ReliabilityErrorDetails } from './errors.js';
export { type Clock, type TimerHandle, systemClock } from './clock.js';
export { type DatagramPort } from './port.js';
export { T1, Defaults } from './constants.js';
export { RtoEstimator, type RtoOptions } from './rto.js';
export { CongestionWindow, type CongestionOptions } from './congestion.js';
export { ReliableChannel } from './channel.js';
export {
  type ChannelOptions,
  type ChannelStats,
  type ChannelEvents,
  type ChannelDropReason,
  type DropReason,
  type ReceivedMessage,
  type SendOptions,
} from './channel-types.js';
export {
  Operations,
  OperationDefaults,
  type OperationsOptions,
  type OperationsStats,
  type RequestOptions,
  type RequestHandler,
  type HandlerContext,
} from './operations.js';
export {
  bindUdp,
  socketAddress,
  UdpPort,
  createUdpChannel,
  connectUdpChannel,
  type BindUdpOptions,
  type UdpAddress,
  type UdpChannelOptions,
} from './udp.js';
export { Emitter } from './internal/emitter.js';
