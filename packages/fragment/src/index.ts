export { FragmentError, type FragmentErrorCode } from './errors.js';
export { type Clock, type TimerHandle, systemClock } from './clock.js';
export { SEQ_MODULO, SEQ_HALF, seqAdd, seqDiff, seqLess, seqInWindow } from './serial.js';
export { Fragmenter, type FragmenterOptions, type FragmentAddress } from './fragmenter.js';
export {
  Reassembler,
  DEFAULT_RECEIVE_WINDOW,
  DEFAULT_MAX_FRAGMENTS_AHEAD,
  DEFAULT_PARTIAL_TIMEOUT,
  HELD_FRAGMENT_OVERHEAD,
  REASSEMBLY_DROP_REASONS,
  type ReassemblyDropReason,
  type AcceptResult,
  type ReassemblerOptions,
  type ReassemblerStats,
} from './reassembler.js';
