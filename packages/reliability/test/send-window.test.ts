import { describe, expect, it } from 'vitest';
import { FragmentState, type Outgoing, SendWindow, type SentFragment } from '../src/internal/send-window.js';

const message = {} as Outgoing;
function fragment(seq: number): SentFragment {
  return {
    seq,
    message,
    index: 0,
    cost: 100,
    datagram: undefined,
    state: FragmentState.InFlight,
    sentAt: 0,
    firstSentAt: 0,
    retransmitted: false,
    timeouts: 0,
    txOrder: 0,
  };
}

describe('SendWindow across the sequence wrap', () => {
  it('grows past its initial ring, finds outstanding numbers only, and advances over acknowledged ones', () => {
    const w = new SendWindow(0xffc0);
    for (let i = 0; i < 200; i++) w.push(fragment((0xffc0 + i) & 0xffff));
    expect([w.una, w.next, w.outstanding, w.octets]).toEqual([0xffc0, (0xffc0 + 200) & 0xffff, 200, 20_000]);
    expect(w.at(0xffbf)).toBeUndefined(); // behind the window
    expect(w.at((0xffc0 + 200) & 0xffff)).toBeUndefined(); // not yet assigned
    expect(w.at(0x0005)?.seq).toBe(0x0005); // across the wrap
    // acknowledge out of order: the front moves only over a gap-free run
    for (const seq of [0xffc1, 0xffc0, 0xffc3]) w.at(seq)!.state = FragmentState.Acked;
    w.advance();
    expect(w.una).toBe(0xffc2);
    for (let s = 0xffc2; s !== 0x0010; s = (s + 1) & 0xffff) w.at(s)!.state = FragmentState.Acked;
    w.advance();
    expect([w.una, w.outstanding, w.octets]).toEqual([0x0010, 200 - 0x50, (200 - 0x50) * 100]);
    expect([...w.unacked()].map((f) => f.seq).slice(0, 2)).toEqual([0x0010, 0x0011]);
    w.clear();
    expect([w.outstanding, w.octets, w.una]).toEqual([0, 0, w.next]);
  });
});
