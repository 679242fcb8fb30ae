export * from './chunk-info.js';
export * from './geometry.js';
export * from './object-key.js';
export * from './read-resolution.js';
export * from './truncate.js';
