import { packageConfig } from '@xpp/vitest-config';

export default packageConfig();
