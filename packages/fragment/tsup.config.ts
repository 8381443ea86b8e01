import { libraryConfig } from '@xpp/tsup-config';

// One build of both entries: the public face and the `/testing` helpers (fake clock, waitFor).
export default libraryConfig({ entry: { index: 'src/index.ts', testing: 'src/testing/index.ts' } });
