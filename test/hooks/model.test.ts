import { describe, expect, it } from 'vitest';
import { readWebhook, type ClientFields } from '../../src/hooks/model.js';
import { AppError } from '../../src/shared/errors.js';
import { WebhookFields } from '../../src/api/schema/webhook.js';
import { fieldErrors, validator } from '../../src/api/validation.js';

/** what a webhook route does with {"data": …}: the schema's check, then readWebhook */
const schema = validator(WebhookFields);
function validateWebhook(data: unknown, mode: 'create' | 'replace' | 'patch') {
  if (!schema(data)) throw new AppError('invalid', 'invalid data', { fields: fieldErrors(schema.errors ?? []) });
  return readWebhook(data as ClientFields, mode);
}

function fieldsOf(fn: () => unknown): Record<string, Record<string, unknown>> {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return (err as AppError).fields as Record<string, Record<string, unknown>>;
  }
  throw new Error('expected a validation error');
}

describe('validateWebhook', () => {
  it('fills Kazoo defaults on create', () => {
    expect(validateWebhook({ uri: 'http://crm.example/new', hook: 'channel_create' }, 'create')).toEqual({
      name: 'channel_create → crm.example',
      uri: 'http://crm.example/new',
      hook: 'channel_create',
      http_verb: 'post',
      format: 'form-data',
      retries: 2,
      enabled: true,
      custom_data: {},
      headers: {},
      event_filter: null,
      include_internal_legs: false,
      include_subaccounts: false,
      failover_uri: null,
    });
  });

  it('names each missing or wrong field in Kazoo shape', () => {
    expect(fieldsOf(() => validateWebhook({}, 'create'))).toEqual({
      uri: { required: { message: 'Field is required but missing' } },
      hook: { required: { message: 'Field is required but missing' } },
    });
    const f = fieldsOf(() =>
      validateWebhook({ uri: 42, hook: 'channel_explode', retries: 'many', enabled: 'yes', http_verb: 'delete', custom_data: [1] }, 'create'),
    );
    expect(Object.keys(f).sort()).toEqual(['custom_data', 'enabled', 'hook', 'http_verb', 'retries', 'uri']);
    expect(f.uri).toEqual({ type: { message: 'Value did not match type(s): string', target: 'string' } });
    expect(f.hook).toHaveProperty('enum');
    expect(f.retries).toHaveProperty('type');
    // a union names each type it takes, once
    expect(f.custom_data).toEqual({ type: { message: 'Value did not match type(s): object, null', target: ['object', 'null'] } });
    // what needs more than the schema (an http(s) URL) is checked once the types are right
    expect(fieldsOf(() => validateWebhook({ uri: 'ftp://x', hook: 'all' }, 'create')).uri).toHaveProperty('format');
    expect(fieldsOf(() => validateWebhook({ target_url: 'ftp://x', hook: 'all' }, 'create')).target_url).toHaveProperty('format');
  });

  it('bounds retries', () => {
    expect(fieldsOf(() => validateWebhook({ uri: 'http://x', hook: 'all', retries: -1 }, 'create')).retries).toHaveProperty('minimum');
    expect(fieldsOf(() => validateWebhook({ uri: 'http://x', hook: 'all', retries: 21 }, 'create')).retries).toHaveProperty('maximum');
    expect(validateWebhook({ uri: 'http://x', hook: 'all', retries: 0 }, 'create').retries).toBe(0);
  });

  it('accepts seven.io headers text and refuses reserved or broken headers', () => {
    expect(validateWebhook({ headers: 'Authorization: Basic dXNlcjpwYXNz\nX-Tenant: 7' }, 'patch').headers).toEqual({
      Authorization: 'Basic dXNlcjpwYXNz',
      'X-Tenant': '7',
    });
    expect(fieldsOf(() => validateWebhook({ headers: { Host: 'evil' } }, 'patch')).headers).toHaveProperty('reserved');
    expect(fieldsOf(() => validateWebhook({ headers: { 'X-A': 'a\r\nX-B: b' } }, 'patch')).headers).toHaveProperty('format');
    expect(fieldsOf(() => validateWebhook({ headers: { 'bad name': 'v' } }, 'patch')).headers).toHaveProperty('format');
  });

  it("maps seven.io's request_method and target_url", () => {
    expect(validateWebhook({ target_url: 'https://acme.inc/webhook/', hook: 'all', request_method: 'JSON' }, 'create')).toMatchObject({
      uri: 'https://acme.inc/webhook/',
      http_verb: 'post',
      format: 'json',
    });
    expect(validateWebhook({ request_method: 'GET' }, 'patch')).toEqual({ http_verb: 'get' });
  });

  it('accepts a numeric event_filter and patterns, refuses junk', () => {
    expect(validateWebhook({ event_filter: 4930123456 }, 'patch').event_filter).toBe('4930123456');
    expect(validateWebhook({ event_filter: '+49*' }, 'patch').event_filter).toBe('+49*');
    expect(fieldsOf(() => validateWebhook({ event_filter: 'a b' }, 'patch')).event_filter).toHaveProperty('pattern');
  });

  it('custom_data must hold scalars', () => {
    expect(validateWebhook({ custom_data: { account_id: 'crm', screen_pop: true, n: 1, z: null } }, 'patch').custom_data).toEqual({
      account_id: 'crm',
      screen_pop: true,
      n: 1,
      z: null,
    });
    expect(fieldsOf(() => validateWebhook({ custom_data: { nested: { a: 1 } } }, 'patch')).custom_data).toHaveProperty('type');
  });

  it('patch validates only what is given', () => {
    expect(validateWebhook({ enabled: false }, 'patch')).toEqual({ enabled: false });
  });
});

describe('validateWebhook: malformed values are a 400 naming the field, never a crash', () => {
  const base = { uri: 'http://crm.example/new', hook: 'all' };
  it.each([
    ['request_method', { request_method: { toString: 1 } }],
    ['headers', { headers: { 'X-Name': 'Zoë ✓' } }],
    ['headers', { headers: { 'X-Name': 'a\u0007b' } }],
    ['custom_data', { custom_data: { k: 'x\ud800y' } }],
    ['custom_data', { custom_data: { k: Number.NaN } }],
    ['colour', { colour: 'blue' }],
    ['failover_uri', { failover_uri: 'ftp://x' }],
  ])('%s', (field, extra) => {
    expect(Object.keys(fieldsOf(() => validateWebhook({ ...base, ...extra }, 'create')))).toContain(field);
  });
  it('accepts the read-only fields a client sends back with what it read, and Latin-1 header values', () => {
    expect(() => validateWebhook({ ...base, id: 'x', created: 1, health: 'healthy', headers: { 'X-City': 'Köln' } }, 'replace')).not.toThrow();
  });
});
