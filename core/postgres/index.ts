/** core/postgres: everything that writes to PostgreSQL (Temporal-free). See docs/target.md. */
export * from './errors';
export * from './identifiers';
export * from './plan';
export * from './staging';
export * from './loader';
export * from './finish';
export * from './indexes';
export * from './indexProgress';
export * from './promote';
export * from './copy/binaryEncoder';
export type * from './layouts/types';
export { lightragTableNames } from './layouts/lightrag';
export * from './sessions';
