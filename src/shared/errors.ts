/** The one error type of callhook. `kind` decides the HTTP status in exactly one place. */
export type ErrorKind =
  | 'invalid' // bad input: 400
  | 'unauthorized' // no or unknown token: 401
  | 'forbidden' // a valid token for another account: 403
  | 'not_found' // 404
  | 'conflict' // 409
  | 'rate_limited' // too many requests: 429, with Retry-After
  | 'config' // bad configuration: the daemon refuses to start
  | 'internal';

const STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  config: 500,
  internal: 500,
};

/** Kazoo-style per-field validation errors: {"uri": {"required": {"message": "..."}}} */
export type FieldErrors = Record<string, Record<string, { message: string; [k: string]: unknown }>>;

export class AppError extends Error {
  readonly kind: ErrorKind;
  readonly fields: FieldErrors | undefined;
  /** seconds a rate-limited client should wait (the Retry-After header) */
  readonly retryAfterSec: number | undefined;

  constructor(kind: ErrorKind, message: string, opts: { cause?: unknown; fields?: FieldErrors; retryAfterSec?: number } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.kind = kind;
    this.fields = opts.fields;
    this.retryAfterSec = opts.retryAfterSec;
  }

  get status(): number {
    return STATUS[this.kind];
  }

  static invalidField(field: string, rule: string, message: string): AppError {
    return new AppError('invalid', 'invalid data', { fields: { [field]: { [rule]: { message } } } });
  }
}

export function statusOf(kind: ErrorKind): number {
  return STATUS[kind];
}
