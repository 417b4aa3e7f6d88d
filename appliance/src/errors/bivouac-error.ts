import { errorRegistry, type ErrorCode } from './registry.ts';

/** An expected failure with a stable code; only api/ turns it into an HTTP answer. */
export class BivouacError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'BivouacError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return errorRegistry[this.code].status;
  }
}

/** The body of every error answer. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details: Record<string, unknown> };
}

export function errorBody(error: BivouacError): ErrorBody {
  return { error: { code: error.code, message: error.message, details: error.details } };
}
