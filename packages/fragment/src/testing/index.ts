export { FakeClock, FAKE_WALL_START } from './fake-clock.js';
export { waitFor, WaitError, type WaitErrorCode, type WaitOptions } from './wait.js';
