import { libraryConfig } from '@xpp/tsup-config';

export default libraryConfig();
