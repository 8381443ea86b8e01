import { libraryConfig } from '@xpp/tsup-config';

// The public face and the `/testing` helpers (testnet factory, impaired transport) in one build.
export default libraryConfig({ entry: { index: 'src/index.ts', testing: 'src/testing/index.ts' } });
