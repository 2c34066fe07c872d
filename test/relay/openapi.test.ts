// The relay's OpenAPI document (src/relay/openapi.ts): served by a real relay, equal to
// docs/openapi.json, complete (every route Fastify registers), and true to what routes answer.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import { relayOpenApiText, routeOnlyApp } from '../../src/relay/app.ts';
import { RELAY_ERROR_STATUS } from '../../src/relay/errors.ts';
import { binaryObject, collectRoutes, openApiDocument, openApiPath } from '../../src/relay/openapi.ts';
import { OCTET, testRelay, type TestRelay } from './helpers.ts';

type Json = Record<string, unknown>;
interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean }[];
  requestBody?: { content: Record<string, { schema: Json }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: Json }> }>;
  'x-undocumented'?: boolean;
}
interface Doc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Json> };
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const REGENERATE = 'npm run openapi (node --import tsx scripts/gen-openapi.ts)';

const operations = (doc: Doc): { method: string; path: string; op: Operation }[] =>
  Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ method, path, op })));

/** The codes an error response of `op` lists for `status`. */
function codesAt(op: Operation, status: number): string[] {
  const schema = op.responses[String(status)]?.content?.['application/json']?.schema as { allOf?: Json[] } | undefined;
  const own = schema?.allOf?.[1] as { properties: { error: { properties: { code: { enum: string[] } } } } } | undefined;
  return own?.properties.error.properties.code.enum ?? [];
}

/** Routes from Fastify's own listing (printRoutes), not from the onRoute hook the generator uses. */
function printedRoutes(tree: string): Set<string> {
  const out = new Set<string>();
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^((?:│ {3}| {4})*)(?:├── |└── )(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    stack.push(m[2]!);
    if (m[3]) for (const method of m[3].split(', ')) out.add(`${method} ${openApiPath(stack.join('')).path}`);
  }
  return out;
}

/** Checks the OpenAPI 3.1 structure the tools rely on; the failures name the operation. */
function checkStructure(doc: Doc): void {
  assert.match(doc.openapi, /^3\.1\.\d+$/);
  assert.equal(typeof doc.info.title, 'string');
  assert.equal(typeof doc.info.version, 'string');
  assert.ok(Object.keys(doc.paths).length > 0, 'paths is empty');
  const ids = new Set<string>();
  for (const { method, path, op } of operations(doc)) {
    const at = `${method.toUpperCase()} ${path}`;
    assert.ok(path.startsWith('/'), `${at}: a path starts with /`);
    assert.ok(METHODS.includes(method), `${at}: not an OpenAPI method`);
    assert.ok(!ids.has(op.operationId), `${at}: operationId ${op.operationId} twice`);
    ids.add(op.operationId);
    assert.ok(op.summary.length > 0 && (op.description ?? '').length > 0, `${at}: no summary or description`);
    assert.equal(op['x-undocumented'], undefined, `${at}: the route definition has no schema.api (src/relay/openapi.ts, RouteApi)`);
    const statuses = Object.keys(op.responses);
    // A retired route (satpost 0.1's mailbox login) only says so: 410 PROTOCOL_UPGRADED.
    if ((op.tags ?? []).includes('retired')) assert.ok(statuses.includes('410'), `${at}: a retired route answers 410`);
    else assert.ok(statuses.some((s) => s.startsWith('2')), `${at}: no success response`);
    assert.ok(statuses.some((s) => s.startsWith('4')), `${at}: no error response`);
    for (const [status, res] of Object.entries(op.responses)) {
      assert.match(status, /^[1-5][0-9]{2}$/, `${at}: response key ${status}`);
      assert.ok(res.description.length > 0, `${at} ${status}: no description`);
      for (const code of codesAt(op, Number(status))) assert.equal(RELAY_ERROR_STATUS[code as keyof typeof RELAY_ERROR_STATUS], Number(status), `${at}: ${code} listed under ${status}`);
    }
    for (const name of [...path.matchAll(/\{([^}]+)\}/g)].map((x) => x[1])) {
      assert.ok(op.parameters?.some((p) => p.in === 'path' && p.name === name && p.required === true), `${at}: path parameter ${name} undeclared`);
    }
  }
  // Every $ref points into the document.
  for (const ref of JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) assert.ok(doc.components.schemas[ref[1]!], `dangling $ref ${ref[1]}`);
}

describe('relay OpenAPI document', { timeout: 60_000 }, () => {
  let relay: TestRelay;
  let served: Doc;
  let generated: string;
  before(async () => {
    relay = await testRelay({ p2p: false });
    const res = await fetch(`${relay.url}/v1/openapi.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    served = (await res.json()) as Doc;
    generated = await relayOpenApiText();
  });
  after(() => relay.close());

  it('a real relay serves a valid OpenAPI 3.1 document, the same one the generator writes', () => {
    checkStructure(served);
    assert.equal(served.info.version, (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
    assert.deepEqual(served, JSON.parse(generated));
  });

  it('docs/openapi.json is what the generator produces now', () => {
    const onDisk = readFileSync(join('docs', 'openapi.json'), 'utf8');
    assert.ok(onDisk === generated, `docs/openapi.json is out of date with the relay's routes: regenerate it with ${REGENERATE} and commit it`);
  });

  it('lists every route Fastify registers, and nothing else', async () => {
    const app = await routeOnlyApp();
    const registered = printedRoutes(app.printRoutes({ commonPrefix: false }));
    await app.close();
    // The listing is parsed right: the routes of every module are in it.
    for (const r of ['POST /v1/deposit', 'GET /v1/channel/{id}/settles', 'GET /v1/prekeys/{mailbox}', 'GET /v1/lookup/relays', 'GET /v1/openapi.json', 'HEAD /metrics']) {
      assert.ok(registered.has(r), `${r} missing from Fastify's listing`);
    }
    const documented = new Set(operations(served).map(({ method, path }) => `${method.toUpperCase()} ${path}`));
    assert.deepEqual([...registered].filter((r) => !documented.has(r)), [], 'routes Fastify registers but the document leaves out');
    assert.deepEqual([...documented].filter((r) => !registered.has(r)), [], 'operations in the document that Fastify does not register');
  });

  it('names the binary protocol objects and the refusals in the route definitions', () => {
    const post = (p: string) => served.paths[p]!.post!;
    const octet = (op: Operation) => String(op.requestBody?.content['application/octet-stream']?.schema.description);
    assert.match(octet(post('/v1/deposit')), /^Deposit \(0x04\)/);
    assert.match(String(post('/v1/deposit').responses['200']!.content!['application/octet-stream']!.schema.description), /^Receipt \(0x05\)/);
    assert.match(octet(post('/v1/unlock')), /^PaymentNotice \(0x0c\)/);
    assert.ok(post('/v1/unlock').requestBody!.content['application/json'], 'unlock also takes JSON {id, r?}');
    assert.deepEqual(Object.keys(post('/v1/unlock').responses).filter((s) => s.startsWith('2')), ['200', '202']);
    assert.match(String(post('/v1/tags/message').responses['200']!.content!['application/octet-stream']!.schema.description), /^StoredMessage \(0x0b\)/);
    assert.ok(codesAt(post('/v1/tags/message'), 404).includes('MESSAGE_UNKNOWN'));
    assert.ok(codesAt(post('/v1/mailbox/list'), 410).includes('PROTOCOL_UPGRADED'), 'the retired routes say so');
    assert.ok(codesAt(post('/v1/quote'), 402).includes('FEE_TOO_LOW'));
    // The route's own Fastify schema is the request body of a JSON route.
    assert.deepEqual(post('/v1/tags/message').requestBody!.content['application/json']!.schema.required, ['secret']);
    // Common refusals on every route, body refusals on those that take one.
    assert.ok(codesAt(served.paths['/.well-known/satpost']!.get!, 429).includes('RATE_LIMITED'));
    assert.ok(codesAt(post('/v1/quote'), 415).includes('BAD_CONTENT_TYPE'));
    assert.deepEqual(codesAt(served.paths['/metrics']!.get!, 415), []);
  });

  it('is true to the routes: a bad request to each operation gets a status and code the document lists for it', async () => {
    const checked: string[] = [];
    for (const { method, path, op } of operations(served)) {
      if (method === 'head') continue;
      const url = `${relay.url}${path.replace(/\{[^}]+\}/g, '0'.repeat(64))}`;
      const res = method === 'post' ? await fetch(url, { method: 'POST', headers: OCTET, body: Buffer.from([0xff]) }) : await fetch(url);
      const at = `${method.toUpperCase()} ${path} answered ${res.status}`;
      assert.ok(op.responses[String(res.status)], `${at}, which the document does not list`);
      if (res.status >= 400) {
        const { error } = (await res.json()) as { error: { code: string } };
        assert.ok(codesAt(op, res.status).includes(error.code), `${at} ${error.code}, which the document does not list under ${res.status}`);
        checked.push(error.code);
      } else {
        await res.arrayBuffer();
      }
    }
    // The probes reached the routes' own refusals, not only the common ones.
    for (const code of ['BAD_ENCODING', 'P2P_OFF', 'CHANNEL_AUTH_REQUIRED', 'NO_BUNDLE']) assert.ok(checked.includes(code), `no probe answered ${code}: ${checked.join(' ')}`);
  });
});

describe('OpenAPI generator', () => {
  it('describes any route from its definition, and marks one without schema.api', async () => {
    const app = Fastify();
    const routes = collectRoutes(app);
    app.post('/a/:x/b', {
      schema: {
        querystring: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
        api: { summary: 'A', description: 'the a route', tags: ['t'], body: { binary: [binaryObject('Thing', 0x7f)] }, responses: { 201: { description: 'made' } }, errors: ['QUOTE_USED'] },
      },
    }, async () => 'ok');
    app.get('/plain/:id', async () => 'ok');
    await app.ready();
    await app.close();
    const doc = openApiDocument(routes, { title: 't', version: '1', description: 'd', commonErrors: ['INTERNAL'], bodyErrors: ['BODY_TOO_LARGE'] }) as unknown as Doc;
    const a = doc.paths['/a/{x}/b']!.post!;
    assert.deepEqual(a.parameters!.map((p) => [p.in, p.name, p.required]), [['path', 'x', true], ['query', 'n', true]]);
    assert.match(String(a.requestBody!.content['application/octet-stream']!.schema.description), /^Thing \(0x7f\)/);
    assert.deepEqual(Object.keys(a.responses), ['201', '409', '413', '500']);
    assert.deepEqual(codesAt(a, 409), ['QUOTE_USED']);
    const plain = doc.paths['/plain/{id}']!;
    assert.equal(plain.get!['x-undocumented'], true);
    assert.deepEqual(Object.keys(plain.get!.responses), ['500']);
    assert.equal(plain.head!.responses['500']!.content, undefined, 'a HEAD answer has no body');
    // The structure check names the route a definition left undocumented.
    assert.throws(() => checkStructure(doc), /GET \/plain\/\{id\}: /);
  });
});
