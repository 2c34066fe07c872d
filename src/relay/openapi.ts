/**
 * The relay's OpenAPI 3.1 document, generated from the routes themselves (docs/relay-api.md
 * is the prose). Every route carries its description in its own definition, next to its
 * handler: Fastify's schema (body, querystring, params, headers: what Fastify validates)
 * plus `schema.api` (RouteApi below: summary, the binary protocol objects it takes and
 * answers, the error codes it can refuse with). `collectRoutes` records every route through
 * Fastify's onRoute hook as it registers, and `openApiDocument` turns the records into the
 * document; nothing is listed by hand a second time. A route without `api` still appears
 * (method, path, parameters, the common refusals), marked `x-undocumented`.
 */
import type { FastifyInstance, FastifySchema } from 'fastify';
import { RELAY_ERROR_STATUS, type RelayErrorCode } from './errors.ts';

type JsonSchema = Record<string, unknown>;

/** A protocol object in its canonical binary encoding (docs/protocol.md, "Objects"). */
export interface BinaryObject {
  name: string;
  tag: number;
}

export const binaryObject = (name: string, tag: number): BinaryObject => ({ name, tag });

/** "Deposit (0x04)". */
export const objectLabel = (o: BinaryObject): string => `${o.name} (0x${o.tag.toString(16).padStart(2, '0')})`;

/** One form of a request or response body. */
export type BodyForm =
  /** application/octet-stream: one of these protocol objects. */
  | { binary: readonly BinaryObject[]; description?: string }
  /** application/json with this schema (documentation only: Fastify's own body schema is read from `schema.body`). */
  | { json: JsonSchema; description?: string }
  /** Another media type (e.g. Prometheus text). */
  | { media: string; description?: string };

export interface ParamDoc {
  description: string;
  schema?: JsonSchema;
  required?: boolean;
}

export interface ResponseDoc {
  description: string;
  body?: BodyForm | readonly BodyForm[];
  headers?: Record<string, ParamDoc>;
}

/** What a route says about itself for the OpenAPI document (`schema.api` of its definition). */
export interface RouteApi {
  summary: string;
  description: string;
  tags: readonly string[];
  /** Path, query and header parameters the handler reads itself (Fastify-validated ones come from `schema.params` etc.). */
  params?: Record<string, ParamDoc>;
  query?: Record<string, ParamDoc>;
  headers?: Record<string, ParamDoc>;
  /** Request body forms the handler decodes itself (besides a JSON `schema.body`). */
  body?: BodyForm | readonly BodyForm[];
  /** Success answers by HTTP status. */
  responses: Readonly<Record<number, ResponseDoc>>;
  /** The refusal codes this route can answer besides the relay's common ones (RouteDocs.common). */
  errors: readonly RelayErrorCode[];
}

declare module 'fastify' {
  interface FastifySchema {
    /** The route's OpenAPI description (src/relay/openapi.ts); Fastify itself ignores it. */
    api?: RouteApi;
  }
}

export interface CollectedRoute {
  method: string;
  url: string;
  schema: FastifySchema | undefined;
}

/** Records every route registered on `app` from now on (its onRoute hook): call before any route. */
export function collectRoutes(app: FastifyInstance): readonly CollectedRoute[] {
  const routes: CollectedRoute[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) routes.push({ method: String(method).toUpperCase(), url: r.url, schema: r.schema as FastifySchema | undefined });
  });
  return routes;
}

export interface DocInfo {
  title: string;
  version: string;
  description: string;
  /** Refusals every route can answer (hooks, the error handler, Node's HTTP server). */
  commonErrors: readonly RelayErrorCode[];
  /** Further refusals of every route that takes a body (body parsing). */
  bodyErrors: readonly RelayErrorCode[];
  /** Extensions at the top level (x-…). */
  extensions?: Record<string, unknown>;
}

const OCTET = 'application/octet-stream';
const JSON_TYPE = 'application/json';
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** "/v1/channel/:id/close" -> "/v1/channel/{id}/close" and its path parameter names. */
export function openApiPath(url: string): { path: string; params: string[] } {
  const params: string[] = [];
  const path = url
    .split('/')
    .map((seg) => {
      if (seg.startsWith(':')) {
        const name = seg.slice(1).replace(/\(.*$/, '');
        params.push(name);
        return `{${name}}`;
      }
      if (seg === '*') {
        params.push('wildcard');
        return '{wildcard}';
      }
      return seg;
    })
    .join('/');
  return { path, params };
}

const forms = (b: BodyForm | readonly BodyForm[] | undefined): readonly BodyForm[] => (b === undefined ? [] : Array.isArray(b) ? b : [b as BodyForm]);

function content(list: readonly BodyForm[]): Record<string, unknown> {
  const out: Record<string, { schema: JsonSchema }> = {};
  const json: JsonSchema[] = [];
  for (const f of list) {
    if ('binary' in f) {
      const labels = f.binary.map(objectLabel);
      out[OCTET] = {
        schema: {
          type: 'string',
          contentMediaType: OCTET,
          description: `${labels.join(' or ')}: canonical binary encoding (docs/protocol.md, "Objects")${f.description ? `. ${f.description}` : ''}`,
          'x-satpost-objects': f.binary.map((o) => ({ name: o.name, tag: o.tag })),
        },
      };
    } else if ('json' in f) {
      json.push(f.description ? { ...f.json, description: f.description } : f.json);
    } else {
      out[f.media] = { schema: { type: 'string', ...(f.description ? { description: f.description } : {}) } };
    }
  }
  if (json.length > 0) out[JSON_TYPE] = { schema: json.length === 1 ? json[0]! : { oneOf: json } };
  return out;
}

function parametersOf(schema: JsonSchema | undefined, where: 'path' | 'query' | 'header', docs: Record<string, ParamDoc> | undefined): Map<string, JsonSchema> {
  const out = new Map<string, JsonSchema>();
  const props = (schema?.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema?.required ?? []) as string[]);
  for (const [name, s] of Object.entries(props)) {
    out.set(name, { name, in: where, required: where === 'path' || required.has(name), schema: s, ...(typeof s.description === 'string' ? { description: s.description } : {}) });
  }
  for (const [name, d] of Object.entries(docs ?? {})) {
    const had = out.get(name);
    out.set(name, {
      name, in: where, required: where === 'path' || (d.required ?? (had?.required as boolean | undefined) ?? false),
      schema: d.schema ?? had?.schema ?? { type: 'string' }, description: d.description,
    });
  }
  return out;
}

function errorResponses(codes: readonly RelayErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, RelayErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = RELAY_ERROR_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<string, unknown> = {};
  for (const status of [...byStatus.keys()].sort((a, b) => a - b)) {
    const list = byStatus.get(status)!.sort();
    out[String(status)] = {
      description: `Refused: ${list.join(', ')}`,
      content: {
        [JSON_TYPE]: {
          schema: { allOf: [{ $ref: '#/components/schemas/Error' }, { type: 'object', properties: { error: { type: 'object', properties: { code: { enum: list } } } } }] },
        },
      },
    };
  }
  return out;
}

function operation(r: CollectedRoute, path: string, pathParams: string[], info: DocInfo): Record<string, unknown> {
  const schema = (r.schema ?? {}) as FastifySchema & Record<string, unknown>;
  const api = schema.api;
  const head = r.method === 'HEAD';
  const params = [
    ...parametersOf(schema.params as JsonSchema | undefined, 'path', api?.params).values(),
    ...parametersOf(schema.querystring as JsonSchema | undefined, 'query', api?.query).values(),
    ...parametersOf(schema.headers as JsonSchema | undefined, 'header', api?.headers).values(),
  ];
  for (const name of pathParams) {
    if (!params.some((p) => p.in === 'path' && p.name === name)) params.unshift({ name, in: 'path', required: true, schema: { type: 'string' } });
  }
  const bodyForms = [...(schema.body ? [{ json: schema.body as JsonSchema }] : []), ...forms(api?.body)];
  const responses: Record<string, unknown> = {};
  for (const [status, res] of Object.entries(api?.responses ?? {})) {
    const c = head ? {} : content(forms(res.body));
    responses[status] = {
      description: res.description,
      ...(res.headers ? { headers: Object.fromEntries(Object.entries(res.headers).map(([k, h]) => [k, { description: h.description, schema: h.schema ?? { type: 'string' } }])) } : {}),
      ...(Object.keys(c).length > 0 ? { content: c } : {}),
    };
  }
  const codes = [...info.commonErrors, ...(BODY_METHODS.has(r.method) ? info.bodyErrors : []), ...(api?.errors ?? [])];
  const errors = errorResponses(codes);
  if (head) for (const e of Object.values(errors)) delete (e as { content?: unknown }).content;
  Object.assign(responses, errors);
  return {
    operationId: `${r.method.toLowerCase()}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
    summary: api ? (head ? `${api.summary} (headers only)` : api.summary) : `${r.method} ${path}`,
    ...(api ? { description: api.description, tags: [...api.tags] } : { 'x-undocumented': true }),
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(bodyForms.length > 0 ? { requestBody: { required: true, content: content(bodyForms) } } : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document of the collected routes (the same routes give the same document, byte for byte once stringified). */
export function openApiDocument(routes: readonly CollectedRoute[], info: DocInfo): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const sorted = [...routes].sort((a, b) => (a.url === b.url ? a.method.localeCompare(b.method) : a.url < b.url ? -1 : 1));
  const tags = new Set<string>();
  for (const r of sorted) {
    const { path, params } = openApiPath(r.url);
    const item = (paths[path] ??= {});
    const m = r.method.toLowerCase();
    if (item[m] !== undefined) continue;
    item[m] = operation(r, path, params, info);
    for (const t of r.schema?.api?.tags ?? []) tags.add(t);
  }
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version, description: info.description, license: { name: 'AGPL-3.0-or-later', identifier: 'AGPL-3.0-or-later' } },
    tags: [...tags].sort().map((name) => ({ name })),
    paths,
    components: {
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          description: 'Every refusal: `code` is stable (clients branch on it), `message` is for people; some codes add fields (docs/relay-api.md, "Errors").',
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: { code: { type: 'string', enum: Object.keys(RELAY_ERROR_STATUS).sort() }, message: { type: 'string' } },
              additionalProperties: true,
            },
          },
        },
      },
    },
    ...info.extensions,
  };
}
