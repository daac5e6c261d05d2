/** The reports' duration format: the runtime's (runtime/duration.ts), which the oracle's messages use too. */
export { fmtNs } from '../runtime/duration.js';
