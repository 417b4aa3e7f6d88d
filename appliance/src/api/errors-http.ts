import type { FastifyError, FastifyInstance } from 'fastify';
import { BivouacError, errorBody } from '../errors.ts';

/** Fastify's own failures, mapped onto the registry. */
function fromFastify(error: FastifyError, bodyLimit: number): BivouacError | null {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new BivouacError(
        'BODY_TOO_LARGE',
        `The request body is larger than ${bodyLimit} bytes.`,
        { limitBytes: bodyLimit },
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new BivouacError(
        'UNSUPPORTED_MEDIA_TYPE',
        'Send the request body as application/json.',
        { allowed: ['application/json'] },
      );
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new BivouacError('INVALID_JSON', 'The request body is not valid JSON.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new BivouacError(
        'INVALID_JSON',
        'The request says application/json but its body is empty.',
      );
    default:
      // A file served with a Range it does not have (`bytes=5-1`, or past its end).
      if (error.statusCode === 416 || (error as { status?: number }).status === 416) {
        return new BivouacError(
          'RANGE_NOT_SATISFIABLE',
          'The Range header asks for bytes this file does not have; ask for bytes=start-end within its size, or send no Range.',
        );
      }
      return null;
  }
}

/** Installs the one error handler and the not-found handler for the API. */
export function installErrorHandling(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    // A route may have a smaller limit than the app's (those anyone may call).
    const known =
      error instanceof BivouacError
        ? error
        : fromFastify(error, request.routeOptions.bodyLimit ?? bodyLimit);
    if (known) {
      void reply.code(known.status).send(errorBody(known));
      return;
    }
    request.log.error({ err: error }, 'unexpected error');
    const bug = new BivouacError('INTERNAL', 'An internal error occurred; it has been logged.', {
      requestId: request.id,
    });
    void reply.code(500).send(errorBody(bug));
  });
}
