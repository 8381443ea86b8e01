export { default } from '@xpp/eslint-config';
