import { libraryConfig } from '@xpp/tsup-config';

export default [
  libraryConfig(),
  // The CLI is an ESM-only executable, not part of the library's typed surface.
  libraryConfig({ entry: ['src/cli.ts'], format: ['esm'], dts: false, clean: false }),
];
