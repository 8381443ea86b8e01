import { libraryConfig } from '@xpp/tsup-config';

export default [
  libraryConfig(),
  // The `xpp-node` executable: ESM only, not part of the library's typed surface.
  libraryConfig({ entry: ['src/bin.ts'], format: ['esm'], dts: false, clean: false }),
];
