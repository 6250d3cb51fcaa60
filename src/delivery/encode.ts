/**
 * The three ways a payload goes on the wire, as Kazoo sends them:
 * GET → query string; POST/PUT form-data → application/x-www-form-urlencoded with nested
 * objects as key[sub]=v; POST/PUT json → a JSON body.
 */
import type { Payload } from '../events/payload.js';
import type { BodyFormat, HttpVerb } from '../hooks/model.js';

export interface EncodedRequest {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  body: string | undefined;
  contentType: string | undefined;
  /** the bytes that are signed: the body, or for GET the query string */
  signed: string;
}

function pairs(value: unknown, key: string, out: [string, string][]): void {
  if (value === null || value === undefined) return;
  if (Array.isArray(value)) {
    for (const v of value) pairs(v, `${key}[]`, out);
  } else if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) pairs(v, `${key}[${k}]`, out);
  } else {
    out.push([key, String(value)]);
  }
}

export function formEncode(payload: Record<string, unknown>): string {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(payload)) pairs(v, k, out);
  return new URLSearchParams(out).toString();
}

/** a POST/PUT with a JSON body that is already serialised */
export function jsonRequest(uri: string, verb: Exclude<HttpVerb, 'get'>, body: string): EncodedRequest {
  return { method: verb === 'put' ? 'PUT' : 'POST', url: uri, body, contentType: 'application/json', signed: body };
}

export function encodeRequest(uri: string, payload: Payload, verb: HttpVerb, format: BodyFormat): EncodedRequest {
  if (verb === 'get') {
    const query = formEncode(payload);
    const url = query ? uri + (uri.includes('?') ? '&' : '?') + query : uri;
    return { method: 'GET', url, body: undefined, contentType: undefined, signed: query };
  }
  if (format === 'json') return jsonRequest(uri, verb, JSON.stringify(payload));
  const body = formEncode(payload);
  return { method: verb === 'put' ? 'PUT' : 'POST', url: uri, body, contentType: 'application/x-www-form-urlencoded', signed: body };
}
