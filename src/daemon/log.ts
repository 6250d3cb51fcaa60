/**
 * createLogger(level, format): pino on stdout, with the secrets redacted. `json` (the default)
 * writes one JSON object a line, for log collectors; `pretty` writes readable lines through
 * pino-pretty in this thread (a stream, not a transport worker) and synchronously like the JSON
 * destination, so that nothing logged just before an exit is lost. Both redact the same paths.
 */
import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';
import type { LogFormat } from './config.js';

export const REDACT_PATHS = [
  'password',
  '*.password',
  'auth_token',
  '*.auth_token',
  'secret',
  '*.secret',
  'adminToken',
  '*.adminToken',
  'headers.authorization',
  '*.headers.authorization',
];

export function createLogger(level: string, format: LogFormat = 'json'): Logger {
  const options = { level, base: { service: 'callhook' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  if (format === 'json') return pino(options);
  // loaded only when asked for: the JSON default does not pay for it at start
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  return pino(
    options,
    pretty({
      destination: 1,
      sync: true,
      colorize: process.stdout.isTTY === true,
      translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
      // [2026-11-24 14:45:56.488] WARN: [ari] ARI not reachable; retrying, its fields indented below
      messageFormat: '{if component}[{component}] {end}{msg}',
      ignore: 'pid,hostname,service,component',
    }),
  );
}
