// The one clock of every XPP package is defined in the lowest package that needs time (the reassembler's
// partial-message timeout); it is re-exported here, where most users meet it.
export { type Clock, type TimerHandle, systemClock } from '@xpp/fragment';
