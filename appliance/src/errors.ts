/**
 * Expected errors: the one registry of their codes (errors/registry.ts), `BivouacError` that
 * carries one, and the field errors of a request that does not match its schema. Import them
 * from here.
 */
export * from './errors/registry.ts';
export * from './errors/bivouac-error.ts';
export * from './errors/field-errors.ts';
