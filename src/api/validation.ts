/**
 * The validator of the API's schemas, and the one formatter that turns what it finds into
 * Kazoo's field errors ({"uri": {"required": {"message": …}}}). Bodies are checked as sent
 * (no coercion, every error reported); path and query parameters are text, so their numbers
 * are coerced.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { AppError, type FieldErrors } from '../shared/errors.js';

function ajv(coerce: boolean): Ajv {
  // the keywords OpenAPI reads (examples) are not validation keywords
  const a = new Ajv({ allErrors: true, coerceTypes: coerce, useDefaults: coerce, strict: false, allowUnionTypes: true, verbose: true });
  (addFormats as unknown as (a: Ajv) => void)(a);
  return a;
}
const bodies = ajv(false);
const params = ajv(true);

/** Fastify's validator compiler: each route's schemas compiled once, at start */
export const compileValidator: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const validate = (httpPart === 'body' ? bodies : params).compile(schema as object);
  return (data: unknown) => (validate(data) ? { value: data } : { error: invalid(validate.errors ?? [], httpPart) });
};

/** the schema's own check, outside a route (the CLI's input, tests) */
export function validator(schema: object): ValidateFunction {
  return bodies.compile(schema);
}

const NAMES: Record<string, string> = {
  integer: 'integer',
  number: 'number',
  string: 'string',
  boolean: 'boolean',
  object: 'object',
  array: 'array',
  null: 'null',
};

/** which field an error is about: the first name under the body's "data", or the parameter's */
function fieldOf(e: ErrorObject, part: string | undefined): string {
  const path = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const inData = part === 'body' && path[0] === 'data' ? path.slice(1) : path;
  const missing = e.keyword === 'required' ? (e.params as { missingProperty: string }).missingProperty : undefined;
  const extra = e.keyword === 'additionalProperties' ? (e.params as { additionalProperty: string }).additionalProperty : undefined;
  if (inData.length > 0) return inData[0]!.slice(0, 64);
  return (missing ?? extra ?? (part === 'body' ? 'data' : 'query')).slice(0, 64);
}

/** a schema may say in its own words what a value must be: {"pattern": …, "x-error": "Use 1-64 letters, …"} */
const ownWords = (e: ErrorObject) => (e.parentSchema as { 'x-error'?: string } | undefined)?.['x-error'];

function rule(e: ErrorObject, part: string | undefined): [string, { message: string; [k: string]: unknown }] {
  const p = e.params as Record<string, unknown>;
  const own = ownWords(e);
  if (own && e.keyword !== 'required' && e.keyword !== 'additionalProperties') return [e.keyword, { message: own }];
  switch (e.keyword) {
    case 'required':
      return ['required', { message: part === 'body' && e.instancePath === '' ? 'Request body must be {"data": {...}}' : 'Field is required but missing' }];
    case 'additionalProperties':
      return ['unknown', { message: 'Unknown field: see the field list in the OpenAPI document (/api/v1/openapi.json)' }];
    case 'type': {
      const types = String(p.type)
        .split(',')
        .map((t) => NAMES[t] ?? t);
      return ['type', { message: `Value did not match type(s): ${types.join(', ')}`, target: types.length === 1 ? types[0] : types }];
    }
    case 'enum':
      return ['enum', { message: 'Value not found in enumerated list of values', target: p.allowedValues }];
    case 'const':
      return ['enum', { message: 'Value not found in enumerated list of values', target: [p.allowedValue] }];
    case 'minimum':
    case 'maximum':
    case 'minLength':
    case 'maxLength':
    case 'minItems':
    case 'maxItems':
    case 'maxProperties':
      return [e.keyword, { message: `Value ${e.message ?? 'is out of range'}`, target: p.limit }];
    case 'pattern':
      return ['pattern', { message: `Value must match ${String(p.pattern)}`, target: p.pattern }];
    case 'format':
      return ['format', { message: `Value must be a valid ${String(p.format)}`, target: p.format }];
    default:
      return [e.keyword, { message: `Value ${e.message ?? 'is invalid'}` }];
  }
}

/** the errors of one value, Kazoo-shaped: one entry per field and rule; a type error of a union counts once, naming every type */
export function fieldErrors(errors: ErrorObject[], part?: string): FieldErrors {
  const out: FieldErrors = {};
  const union = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  for (const e of errors) {
    if (e.keyword === 'anyOf' || e.keyword === 'if') continue;
    const field = fieldOf(e, part);
    // an anyOf: the branches' errors at the union's own path say what the value may be
    const [name, detail] = rule(e, part);
    const shown = (out[field] ??= {});
    if (name === 'type' && union.has(e.instancePath) && shown.type) {
      const target = ([] as unknown[]).concat(shown.type.target, detail.target);
      shown.type = { message: `Value did not match type(s): ${target.join(', ')}`, target };
      continue;
    }
    shown[name] ??= detail;
  }
  return out;
}

function invalid(errors: ErrorObject[], part: string | undefined): AppError {
  return new AppError('invalid', 'invalid data', { fields: fieldErrors(errors, part) });
}
