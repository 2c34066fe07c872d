/** The protocol objects (docs/protocol.md, "Objects"). */
export * from './fields.ts';
export * from './offer.ts';
export * from './quote.ts';
export * from './sealed-header.ts';
export * from './deposit.ts';
export * from './payment.ts';
export * from './receipt.ts';
export * from './message.ts';
export * from './fraud-proof.ts';
export * from './tag-query.ts';
export * from './tags.ts';
export * from './signature-error.ts';
export * from './sealed-body.ts';
export * from './stored-message.ts';
export * from './prekey-bundle.ts';
export * from './prekey-publish.ts';
export * from './standing-terms.ts';
