/**
 * The building blocks of the API's schemas: Kazoo's envelope and error shape, Gregorian
 * seconds, nullable values and string enums written the way JSON Schema (and so OpenAPI 3.1
 * and the validator's error messages) read best.
 */
import { Type, type Static, type TObject, type TProperties, type TSchema, type TUnsafe } from '@sinclair/typebox';

/** seconds since 0000-01-01, as Kazoo counts time (63 000 000 000 and more) */
export const Gregorian = (description: string) => Type.Integer({ description: `${description} (Gregorian seconds)`, minimum: 0, examples: [63_930_000_000] });

/** a string out of a fixed list: {"type": "string", "enum": [...]} rather than an anyOf of constants */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: { description?: string; default?: T[number]; examples?: T[number][] } = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** the schema or null: one "type": [..., "null"] (OpenAPI 3.1), so a wrong value gets one plain error */
export function Nullable<T extends TSchema>(schema: T): TUnsafe<Static<T> | null> {
  const { type, enum: values, ...rest } = schema as TSchema & { type?: string | string[]; enum?: unknown[] };
  if (type === undefined) return Type.Unsafe<Static<T> | null>({ anyOf: [schema, { type: 'null' }] });
  return Type.Unsafe<Static<T> | null>({
    ...rest,
    type: [...(Array.isArray(type) ? type : [type]), 'null'],
    ...(values ? { enum: [...values, null] } : {}),
  });
}

const REQUEST_ID = Type.String({ description: 'The id of this request (also the X-Request-ID header)', examples: ['4f1c2a9e0b7d4c3e8a6f5b2d1c0e9f8a'] });

/** Kazoo's success envelope around `data`, with the extra top-level fields a route adds */
export function Ok<T extends TSchema, P extends TProperties = Record<never, TSchema>>(data: T, extra?: P, description = "Success, in Kazoo's envelope") {
  return Type.Object({ data, ...(extra ?? ({} as P)), status: Type.Literal('success'), request_id: REQUEST_ID }, { description });
}

/** a page of a list: Kazoo's page_size and start_key/next_start_key */
export function Paged<T extends TSchema>(item: T) {
  return Ok(
    Type.Array(item),
    {
      page_size: Type.Integer({ description: 'How many items this page holds', examples: [1] }),
      start_key: Type.Optional(Type.String({ description: 'The start_key this page was asked for' })),
      next_start_key: Type.Optional(Type.String({ description: 'Send as start_key for the next page; absent on the last page' })),
    },
    "A page of the list, in Kazoo's envelope",
  );
}

/** Kazoo's error shape: {"data": {field: {rule: {"message": …}}}, "error": "400", "message": …} */
export const ErrorBody = Type.Object(
  {
    data: Type.Record(Type.String(), Type.Unknown(), {
      description: 'Per-field errors for invalid data: {"uri": {"required": {"message": "Field is required but missing"}}}; otherwise {}',
    }),
    error: Type.String({ description: 'The HTTP status as a string', examples: ['400'] }),
    message: Type.String({ examples: ['invalid data'] }),
    status: Type.Literal('error'),
    request_id: REQUEST_ID,
  },
  {
    $id: 'Error',
    title: 'Error',
    examples: [
      {
        data: { uri: { required: { message: 'Field is required but missing' } } },
        error: '400',
        message: 'invalid data',
        status: 'error',
        request_id: '4f1c2a9e0b7d4c3e8a6f5b2d1c0e9f8a',
      },
    ],
  },
);
export type ErrorBody = Static<typeof ErrorBody>;

const ERROR_REF = Type.Ref(ErrorBody);
const WHEN: Record<number, string> = {
  400: 'Invalid data, JSON or parameters; data names each field and rule',
  401: 'No token, or an unknown one',
  403: "A valid token without access to this account, or an account's token where the admin token is needed",
  404: 'No such account, webhook, token or delivery',
  409: 'It exists already',
  413: 'The request body is larger than CALLHOOK_BODY_LIMIT',
  429: 'Too many failed authentications from this address, or too many test sends; see Retry-After',
  503: 'Not ready',
};

/** the error responses a route can give, in Kazoo's shape */
export function errors(...codes: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const code of [401, 429, ...codes]) out[code] = { ...ERROR_REF, description: WHEN[code] ?? 'Error' } as TSchema;
  return out;
}

/** the request body of a write: {"data": {...}} (other top-level keys, as Kazoo clients send, are ignored) */
export function Body<T extends TObject | TUnsafe<unknown>>(data: T, example: unknown) {
  return Type.Object({ data }, { additionalProperties: true, examples: [{ data: example }] });
}

export const PageQuery = {
  page_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50, description: 'Items per page (1-1000)' })),
  start_key: Type.Optional(Type.String({ maxLength: 200, description: 'The next_start_key of the previous page' })),
};

/** created_from/created_to/since: Gregorian seconds as Kazoo uses them, or unix seconds */
export const TimeParam = (description: string) =>
  Type.Integer({ minimum: 0, description: `${description}: Gregorian seconds (Kazoo), or unix seconds`, examples: [63_930_000_000] });
