// The limiter moved to src/core (the relay network's services use it too); kept here for the relay's imports.
export { RateLimiter } from '../core/rate-limit.ts';
