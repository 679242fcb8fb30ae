export * from './object-store.js';
export * from './local-object-store.js';
export * from './s3-object-store.js';
export * from './retry-policy.js';
