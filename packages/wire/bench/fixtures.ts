// The message both codecs carry in the wire benchmarks, and the same fields in compact-encoding and JSON.
import c from 'compact-encoding';
import { Option, type Message, type XppOption } from '../src/index.js';

const fill = (n: number, v: number) => new Uint8Array(n).fill(v);
export const message: Message = {
  number: 0x01020304,
  response: false,
  type: 0x0101,
  options: [
    Option.DATA.option(fill(48, 0x61)),
    Option.SIZE.option(1200),
    Option.RETRY_AFTER.option(30),
    { type: 0x0102, mandatory: true, value: fill(16, 0x7f) },
  ],
};

// The same fields in compact-encoding: u32 number, bool response, u16 type, array of (u16, bool, buffer).
const optionStruct = {
  preencode(state: c.State, o: XppOption) {
    c.uint16.preencode(state, o.type);
    c.bool.preencode(state, o.mandatory);
    c.uint8array.preencode(state, o.value);
  },
  encode(state: c.State, o: XppOption) {
    c.uint16.encode(state, o.type);
    c.bool.encode(state, o.mandatory);
    c.uint8array.encode(state, o.value);
  },
  decode(state: c.State): XppOption {
    return {
      type: c.uint16.decode(state),
      mandatory: c.bool.decode(state),
      value: c.uint8array.decode(state),
    };
  },
};
const optionsArray = c.array(optionStruct);
export const messageStruct = {
  preencode(state: c.State, m: Message) {
    c.uint32.preencode(state, m.number);
    c.bool.preencode(state, m.response);
    c.uint16.preencode(state, m.type);
    optionsArray.preencode(state, m.options as XppOption[]);
  },
  encode(state: c.State, m: Message) {
    c.uint32.encode(state, m.number);
    c.bool.encode(state, m.response);
    c.uint16.encode(state, m.type);
    optionsArray.encode(state, m.options as XppOption[]);
  },
  decode(state: c.State): Message {
    return {
      number: c.uint32.decode(state),
      response: c.bool.decode(state),
      type: c.uint16.decode(state),
      options: optionsArray.decode(state),
    };
  },
};

export const asJson = {
  number: message.number,
  response: message.response,
  type: message.type,
  options: message.options.map((o) => ({ ...o, value: Buffer.from(o.value).toString('base64') })),
};
