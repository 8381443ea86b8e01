export { type Clock, systemClock } from '@xpp/reliability';
