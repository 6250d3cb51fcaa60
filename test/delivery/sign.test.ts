import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { signatureHeaders } from '../../src/delivery/sign.js';
import { newSecret } from '../../src/hooks/model.js';

describe('signatureHeaders', () => {
  it('verifies with the standardwebhooks package', () => {
    const secret = newSecret();
    const body = JSON.stringify({ hook_event: 'channel_create', call_id: 'abc' });
    const headers = signatureHeaders(secret, 'delivery-1', Math.floor(Date.now() / 1000), body);
    expect(headers['webhook-id']).toBe('delivery-1');
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });
  it('fails verification when the body or the secret differ', () => {
    const secret = newSecret();
    const headers = signatureHeaders(secret, 'd', Math.floor(Date.now() / 1000), '{"a":1}');
    expect(() => new Webhook(secret).verify('{"a":2}', headers)).toThrow();
    expect(() => new Webhook(newSecret()).verify('{"a":1}', headers)).toThrow();
  });
});
