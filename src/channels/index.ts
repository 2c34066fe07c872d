// The payment-channel domain in one import: funding script, commitments, messages, state machine, closes.
export * from './errors.ts';
export * from './script.ts';
export * from './size.ts';
export * from './commitment.ts';
export * from './messages.ts';
export * from './state.ts';
export * from './close.ts';
export * from './auth.ts';
