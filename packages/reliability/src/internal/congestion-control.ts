import { CongestionWindow } from '../congestion.js';
import { LossDetector } from './loss-detector.js';
import { FragmentState, type SentFragment } from './send-window.js';

export interface CongestionControlOptions {
  readonly initialWindow: number;
  /** The peer's reassembly bound in fragments: the window never grows past it. */
  readonly maxWindow: number;
  /** Later acknowledgements that declare a fragment lost (spec §5.2: three). */
  readonly dupThreshold: number;
}

/**
 * The sender's congestion control: the window of {@link CongestionWindow}, fed by fast-retransmit loss detection
 * in transmission order, halving at most once per window of transmissions (a burst of losses from one
 * congestion event is one signal). Pure state: the send path tells it what was sent and acknowledged.
 */
export class CongestionControl {
  readonly #cwnd: CongestionWindow;
  readonly #losses: LossDetector<SentFragment>;
  readonly #dupThreshold: number;
  // Losses among transmissions older than this belong to a window already halved for.
  #recoveryPoint = 0;

  constructor(options: CongestionControlOptions) {
    this.#dupThreshold = options.dupThreshold;
    this.#losses = new LossDetector<SentFragment>(options.dupThreshold);
    this.#cwnd = new CongestionWindow({ initialWindow: options.initialWindow, maxWindow: options.maxWindow });
  }

  /** Fragments that may be in flight. */
  get window(): number {
    return this.#cwnd.window;
  }

  get ssthresh(): number {
    return this.#cwnd.ssthresh;
  }

  /** `entry` went on the wire (first time, retransmission or probe): it takes the next transmission order. */
  sent(entry: SentFragment): void {
    this.#losses.sent(entry);
  }

  /** `entry` was newly acknowledged. */
  acked(entry: SentFragment): void {
    this.#cwnd.onAck();
    this.#losses.acked(entry);
  }

  /**
   * Reports each fragment in flight that enough later transmissions overtook (fast retransmit, spec §5.2), with
   * early retransmit (RFC 5827) when fewer than four fragments are outstanding and three later ACKs cannot come.
   */
  detectLosses(outstanding: number, lost: (entry: SentFragment) => void): void {
    this.#losses.detect(
      (entry) => entry.state === FragmentState.InFlight,
      (entry) => {
        lost(entry);
        if (entry.txOrder >= this.#recoveryPoint) {
          this.#cwnd.onLoss();
          this.#recoveryPoint = this.#losses.nextOrder;
        }
      },
      Math.min(this.#dupThreshold, outstanding - 1),
    );
  }

  /** The retransmission timer expired with `inFlight` fragments outstanding: everything will be resent. */
  timeout(inFlight: number): void {
    this.#cwnd.onTimeout(inFlight);
    this.#losses.clear();
    this.#recoveryPoint = this.#losses.nextOrder;
  }

  /** Forgets every transmission (the channel is closing). */
  clear(): void {
    this.#losses.clear();
  }
}
