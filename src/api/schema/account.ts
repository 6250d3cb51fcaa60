/** The account and token resources of the API, and their presenters. */
import { Type, type Static } from '@sinclair/typebox';
import type { Account, Token } from '../../store/store.js';
import { toGregorianSeconds } from '../../shared/gregorian.js';
import { Body, Gregorian, Nullable } from './common.js';

const LIST = (description: string, example: string) =>
  Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 1000, description, examples: [[example]] });

const WRITABLE = {
  id: Type.String({
    pattern: '^[A-Za-z0-9_-]{1,64}$',
    'x-error': 'Use 1-64 letters, digits, _ or -',
    description: 'Chosen on create (default: a random id); fixed after',
    examples: ['acme'],
  }),
  name: Type.String({ minLength: 1, maxLength: 128, examples: ['Acme Inc.'] }),
  realm: Nullable(
    Type.String({
      pattern: '^[A-Za-z0-9.-]{1,253}$',
      'x-error': 'Value must be a host name',
      description: "The account's SIP realm, in every payload",
      examples: ['acme.sip.example.com'],
    }),
  ),
  parent_id: Nullable(Type.String({ maxLength: 64, description: 'The reseller/parent account; it sees this account with include_subaccounts' })),
  accountcodes: LIST("Asterisk accountcodes whose calls are this account's", 'acme'),
  numbers: LIST("DIDs and extensions whose calls are this account's", '+4930123456'),
};

export const AccountFields = Type.Partial(Type.Object(WRITABLE), { additionalProperties: false, title: 'AccountFields' });
export type AccountFields = Static<typeof AccountFields>;
const EXAMPLE = { id: 'acme', name: 'Acme Inc.', realm: 'acme.sip.example.com', numbers: ['+4930123456'] };
/** create: name is required */
export const NewAccountBody = Body(
  Type.Composite([AccountFields, Type.Object({ name: WRITABLE.name })], { additionalProperties: false, title: 'NewAccount' }),
  EXAMPLE,
);
export const AccountBody = Body(AccountFields, { name: 'Acme Inc.', numbers: ['+4930123456', '+4930123457'] });

export const Account_ = Type.Object(
  {
    id: Type.String({ examples: ['acme'] }),
    name: Type.String({ examples: ['Acme Inc.'] }),
    realm: Nullable(Type.String()),
    parent_id: Nullable(Type.String()),
    accountcodes: Type.Array(Type.String()),
    numbers: Type.Array(Type.String()),
    created: Gregorian('Created'),
    updated: Gregorian('Last changed'),
  },
  { $id: 'Account', title: 'Account' },
);
export type AccountShown = Static<typeof Account_>;

const AUTH_TOKEN = Type.String({ description: 'The API token: shown once, stored only as a hash', examples: ['q3Jx0m6l2cNw0e4P6b1vUoH6C2n3kVqkUqv6w9yZx1A'] });
export const CreatedAccount = Type.Composite([Account_, Type.Object({ auth_token: AUTH_TOKEN, token_id: Type.String() })], { title: 'CreatedAccount' });

export const Token_ = Type.Object(
  { id: Type.String({ examples: ['9c1e0f7a2b3d4c5e6f708192a3b4c5d6'] }), created: Gregorian('Created'), last_used: Nullable(Gregorian('Last used')) },
  { $id: 'Token', title: 'Token' },
);
export const CreatedToken = Type.Composite([Token_, Type.Object({ auth_token: AUTH_TOKEN })], { title: 'CreatedToken' });

export const Deleted = Type.Object({ id: Type.String(), deleted: Type.Literal(true) });

export function presentAccount(a: Account): AccountShown {
  return {
    id: a.id,
    name: a.name,
    realm: a.realm,
    parent_id: a.parent_id,
    accountcodes: a.accountcodes,
    numbers: a.numbers,
    created: toGregorianSeconds(a.created),
    updated: toGregorianSeconds(a.updated),
  };
}

export function presentToken(t: Token): Static<typeof Token_> {
  return { id: t.id, created: toGregorianSeconds(t.created), last_used: t.last_used === null ? null : toGregorianSeconds(t.last_used) };
}

// the documented examples are what the presenters make of an account and a token
const T = 1_764_000_000_000;
Account_.examples = [
  presentAccount({
    id: 'acme',
    name: 'Acme Inc.',
    realm: 'acme.sip.example.com',
    parent_id: null,
    accountcodes: [],
    numbers: ['+4930123456'],
    created: T,
    updated: T,
  }),
];
Token_.examples = [presentToken({ id: '9c1e0f7a2b3d4c5e6f708192a3b4c5d6', account_id: 'acme', created: T, last_used: T + 60_000 })];
