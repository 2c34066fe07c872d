// The contracts domain in one import: scripts, validation, transactions, extraction, states.
export * from './errors.ts';
export * from './script.ts';
export * from './validate.ts';
export * from './size.ts';
export * from './tx.ts';
export * from './funding.ts';
export * from './claim.ts';
export * from './refund.ts';
export * from './extract.ts';
export * from './state.ts';
