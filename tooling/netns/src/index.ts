export {
  createNatTestbed,
  assertNetnsAvailable,
  NetnsUnavailableError,
  type NatTestbed,
  type NatHost,
  type NatTestbedOptions,
} from './testbed.js';
