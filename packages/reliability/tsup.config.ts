import { libraryConfig } from '@xpp/tsup-config';

// One build of both entries: the public face and the `/testing` helpers (in-memory network, lossy relay, fake clock).
export default libraryConfig({ entry: { index: 'src/index.ts', testing: 'src/testing/index.ts' } });
