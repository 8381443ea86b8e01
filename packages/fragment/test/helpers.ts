import { Option, decodeFragment, encodeMessage, hasFlag, Flag } from '@xpp/wire';
import { Fragmenter } from '@xpp/fragment';

/** An encoded PING request carrying `size` octets of DATA filled from `seed`. */
export function message(number: number, size: number, seed = number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (seed * 31 + i * 7) & 0xff;
  return encodeMessage({ number, response: false, type: 1, options: [Option.DATA.option(data)] });
}

export interface Piece {
  readonly seq: number;
  readonly last: boolean;
  readonly payload: Uint8Array;
}

/** The reliable fragments of consecutive messages from `firstSeq`, decoded back to (seq, LFR, payload). */
export function pieces(
  messages: readonly Uint8Array[],
  firstSeq: number,
  fragmenter = new Fragmenter(),
): Piece[] {
  const out: Piece[] = [];
  let seq = firstSeq;
  for (const m of messages) {
    for (const datagram of fragmenter.fragment(m, seq, { localId: 1, remoteId: 2 })) {
      const f = decodeFragment(datagram);
      out.push({ seq: f.seq, last: hasFlag(f.flags, Flag.LFR), payload: f.payload });
      seq = (seq + 1) & 0xffff;
    }
  }
  return out;
}
