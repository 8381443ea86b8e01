// Writes test/vectors.json from test/support/vector-cases.ts. Run once when the format changes on purpose
// (`node --import tsx scripts/vectors.ts`); the test then pins every octet.
import { writeFileSync } from 'node:fs';
import { encodeMessage, toHex } from '@xpp/wire';
import { messageCases, optionCases, valueCases } from '../test/support/vector-cases.js';

const vectors = {
  options: optionCases.map((c) => ({
    name: c.name,
    type: c.option.type,
    hex: toHex(c.option.codec.encode(c.value as never)),
  })),
  values: valueCases.map((c) => ({ name: c.name, hex: toHex(c.value()) })),
  messages: messageCases.map((c, i) => ({
    name: c.name,
    hex: toHex(
      encodeMessage({
        number: 0x100 + i,
        response: c.response,
        type: c.type,
        options: c.encode(c.body as never),
      }),
    ),
  })),
};
writeFileSync(new URL('../test/vectors.json', import.meta.url), `${JSON.stringify(vectors, null, 2)}\n`);
