export { readmeExamples, type ReadmeExample } from './readme-examples.js';
