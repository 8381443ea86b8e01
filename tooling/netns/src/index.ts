export {
  createNatTestbed,
  assertNetnsAvailable,
  NetnsUnavailableError,
  type NatTestbed,
  type NatHost,
  type NatMapping,
  type NatTestbedOptions,
} from './testbed.js';
