/** Standard Webhooks signing: webhook-signature = v1,<base64 HMAC-SHA256(id.timestamp.body)>. */
import { createHmac } from 'node:crypto';

export function signatureHeaders(secret: string, id: string, timestampSec: number, payload: string): Record<string, string> {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
  const mac = createHmac('sha256', key).update(`${id}.${timestampSec}.${payload}`).digest('base64');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSec),
    'webhook-signature': `v1,${mac}`,
  };
}
