import { libraryConfig } from '@xpp/tsup-config';

export default libraryConfig({ entry: ['src/index.ts', 'src/testing.ts'] });
