/**
 * Standard Webhooks signing: webhook-signature = v1,<base64 HMAC-SHA256(id.timestamp.body)>,
 * one per secret, space-separated (during a rotation's grace period the new and the old one).
 */
import { createHmac } from 'node:crypto';

export function signatureHeaders(secrets: string | string[], id: string, timestampSec: number, payload: string): Record<string, string> {
  const signatures = (Array.isArray(secrets) ? secrets : [secrets]).map((secret) => {
    const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
    return `v1,${createHmac('sha256', key).update(`${id}.${timestampSec}.${payload}`).digest('base64')}`;
  });
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSec),
    'webhook-signature': signatures.join(' '),
  };
}
