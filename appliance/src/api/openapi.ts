import { z } from 'zod';
import { eventTypes } from '../domain/events.ts';
import { errorRegistry } from '../errors.ts';
import { contract, type RouteContract } from './contract.ts';
import { apiPrefix } from './register-routes.ts';
import { ErrorResponse, Health } from './schemas.ts';

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
}

const errorResponse = {
  description: 'An error; see the ErrorCode schema for every code',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
};

function pathParameters(route: RouteContract): JsonSchema[] {
  const parameters: JsonSchema[] = [];
  for (const [where, schema] of [
    ['path', route.params],
    ['query', route.query],
  ] as const) {
    if (!schema) continue;
    const object = jsonSchema(schema, 'input') as {
      properties?: Record<string, JsonSchema>;
      required?: string[];
    };
    for (const [name, property] of Object.entries(object.properties ?? {})) {
      parameters.push({
        name,
        in: where,
        required: object.required?.includes(name) ?? false,
        schema: property,
      });
    }
  }
  return parameters;
}

function operation(name: string, route: RouteContract): JsonSchema {
  const status = String(route.status ?? 200);
  const success =
    status === '204'
      ? { description: 'Done; no content' }
      : {
          description: 'Success',
          content: { 'application/json': { schema: jsonSchema(route.response, 'output') } },
        };
  return {
    operationId: name,
    summary: route.summary,
    tags: [route.tag],
    security:
      route.auth === 'none'
        ? []
        : route.auth === 'agent'
          ? [{ agent: [] }]
          : [{ session: [] }, { bearer: [] }],
    'x-required-role': route.auth === 'admin' ? 'admin' : undefined,
    'x-kiosk': route.inKiosk ? true : undefined,
    parameters: pathParameters(route),
    ...(route.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
          },
        }
      : {}),
    ...(route.upload
      ? {
          requestBody: {
            required: true,
            content: {
              'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
            },
          },
        }
      : {}),
    responses: { [status]: success, default: errorResponse },
  };
}

function openApiPath(path: string): string {
  return `${apiPrefix}${path.replace(/:([A-Za-z]+)/g, '{$1}')}`;
}

const built = new Map<string, JsonSchema>();

/** The OpenAPI 3.1 document, generated from the same schemas that validate requests (once). */
export function buildOpenApi(version: string): JsonSchema {
  const cached = built.get(version);
  if (cached) return cached;
  const document = generate(version);
  built.set(version, document);
  return document;
}

function generate(version: string): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const [name, route] of Object.entries(contract) as [string, RouteContract][]) {
    const path = openApiPath(route.path);
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation(name, route) };
  }
  paths[`${apiPrefix}/events`] = {
    get: {
      operationId: 'events',
      summary:
        'Server-Sent Events: changes you may view; resume with the Last-Event-ID header (or ?lastEventId=)',
      tags: ['events'],
      security: [{ session: [] }, { bearer: [] }],
      // A locked kiosk screen keeps its stream, with the store's events and its own runs' only.
      'x-kiosk': true,
      responses: {
        200: {
          description: `text/event-stream; \`data\` is a JSON event {id, type, subject, time, data}, \`id\` absent on live-only events (progress, metrics ticks, log lines); \`event: reset\` means reload; \`event: heartbeat\` (data {intervalMs}) comes at once and every interval, so a client can tell a silent box from a quiet one. Types: ${eventTypes.join(', ')}.`,
        },
        default: errorResponse,
      },
    },
  };
  paths['/healthz'] = {
    get: {
      operationId: 'health',
      summary: 'Readiness, no authentication: 200 once a deploy can be served',
      tags: ['box'],
      security: [],
      responses: {
        200: {
          description: 'Ready: the start-up has ended (`failed` lists parts that did not succeed)',
          content: { 'application/json': { schema: jsonSchema(Health, 'output') } },
        },
        503: {
          description: 'Starting: the listeners answer, `starting` names the work still under way',
          content: { 'application/json': { schema: jsonSchema(Health, 'output') } },
        },
      },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Bivouac API',
      version,
      description:
        'The REST API of a Bivouac box. Errors are `{ error: { code, message, details } }` with a stable code.',
    },
    paths,
    components: {
      securitySchemes: {
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: 'bivouac_session',
          description:
            'Over HTTPS the cookie is __Host-bivouac_session. Changes also need the x-csrf-token header.',
        },
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API token from POST /api/v1/tokens.',
        },
        agent: {
          type: 'http',
          scheme: 'bearer',
          description:
            "A guest's instance token, from the context its VM is given; valid only for its own run while the run is live.",
        },
      },
      schemas: {
        Error: jsonSchema(ErrorResponse, 'output'),
        ErrorCode: {
          type: 'string',
          enum: Object.keys(errorRegistry),
          'x-codes': Object.fromEntries(
            Object.entries(errorRegistry).map(([code, entry]) => [
              code,
              { status: entry.status, description: entry.description },
            ]),
          ),
        },
      },
    },
  };
}
