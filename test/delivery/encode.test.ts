import { describe, expect, it } from 'vitest';
import { encodeRequest, formEncode } from '../../src/delivery/encode.js';

const payload = { hook_event: 'channel_create', timestamp: 63557035175, is_internal_leg: false, from: 'a b@x', custom_channel_vars: { CRM: 'x&y', EMPTY: '' } };

describe('encodeRequest', () => {
  it('GET puts the payload in the query string, after any existing query', () => {
    const r = encodeRequest('http://h/p?k=1', payload, 'get', 'json');
    expect(r.method).toBe('GET');
    expect(r.body).toBeUndefined();
    const q = new URL(r.url).searchParams;
    expect(q.get('k')).toBe('1');
    expect(q.get('hook_event')).toBe('channel_create');
    expect(q.get('timestamp')).toBe('63557035175');
    expect(q.get('is_internal_leg')).toBe('false');
    expect(q.get('custom_channel_vars[CRM]')).toBe('x&y');
    expect(r.signed).toBe(new URL(r.url).search.slice(1).replace(/^k=1&/, ''));
  });
  it('POST form-data nests objects as key[sub]', () => {
    const r = encodeRequest('http://h/p', payload, 'post', 'form-data');
    expect(r).toMatchObject({ method: 'POST', contentType: 'application/x-www-form-urlencoded' });
    const f = new URLSearchParams(r.body);
    expect(f.get('from')).toBe('a b@x');
    expect(f.get('custom_channel_vars[CRM]')).toBe('x&y');
    expect(f.get('custom_channel_vars[EMPTY]')).toBe('');
  });
  it('PUT json sends the payload as JSON', () => {
    const r = encodeRequest('http://h/p', payload, 'put', 'json');
    expect(r).toMatchObject({ method: 'PUT', contentType: 'application/json' });
    expect(JSON.parse(r.body!)).toEqual(payload);
    expect(r.signed).toBe(r.body);
  });
  it('skips nulls and encodes arrays as key[]', () => {
    expect(formEncode({ a: null, b: [1, 2] })).toBe('b%5B%5D=1&b%5B%5D=2');
  });
});
