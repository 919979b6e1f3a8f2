import { GraphQLError, type GraphQLFormattedError } from 'graphql';

/** The stable error codes clients may branch on. */
export const ERROR_CODES = [
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'RATE_LIMITED',
  'QUOTA_EXCEEDED',
  'PAYMENT_FAILED',
  'OUT_OF_STOCK',
  'UPSTREAM_UNAVAILABLE',
  // Trading: a pre-trade risk check refused the order; nothing was sent to the exchange.
  'RISK_LIMIT',
  // Trading: the account cannot fund the order (free balance below what it would reserve).
  'INSUFFICIENT_BALANCE',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Codes produced by GraphQL itself for malformed operations; they are the client's fault, not ours. */
const PROTOCOL_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_SUPPORTED', 'OPERATION_RESOLUTION_FAILURE', 'BAD_REQUEST']);
const PUBLIC_CODES = new Set<string>([...ERROR_CODES, ...PROTOCOL_CODES]);

export class AppError extends GraphQLError {
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message, { extensions: { code, ...details } });
    this.name = 'AppError';
  }
}

export const badInput = (message: string, field?: string) => new AppError('BAD_USER_INPUT', message, field ? { field } : undefined);
export const notFound = (what: string, id: string) => new AppError('NOT_FOUND', `${what} ${id} not found`, { id });
export const unauthenticated = (message = 'Sign in first') => new AppError('UNAUTHENTICATED', message);
export const forbidden = (message = 'Not allowed') => new AppError('FORBIDDEN', message);
export const conflict = (message: string) => new AppError('CONFLICT', message);
export const rateLimited = (message: string, retryAfterSeconds: number) => new AppError('RATE_LIMITED', message, { retryAfterSeconds });

interface ValidationFailure {
  property: string;
  constraints?: Record<string, string>;
  children?: ValidationFailure[];
}

function describeValidation(failures: ValidationFailure[], prefix = ''): { field: string; message: string }[] {
  return failures.flatMap((failure) => {
    const field = prefix ? `${prefix}.${failure.property}` : failure.property;
    const own = Object.values(failure.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...describeValidation(failure.children ?? [], field)];
  });
}

/** True for errors a client caused or may branch on; anything else is a bug to log. */
export function isExpectedError(error: unknown): boolean {
  const code = (error as GraphQLError | undefined)?.extensions?.code;
  return typeof code === 'string' && PUBLIC_CODES.has(code);
}

/**
 * Turns any error into what a client may see: registry and protocol codes pass through,
 * class-validator failures become one readable BAD_USER_INPUT, everything else is masked.
 */
export function maskError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  const code = formatted.extensions?.code;
  const validationErrors = (original as { extensions?: { validationErrors?: ValidationFailure[] } })?.extensions?.validationErrors;
  if (code === 'BAD_USER_INPUT' && Array.isArray(validationErrors)) {
    const problems = describeValidation(validationErrors);
    return {
      message: problems.map((problem) => problem.message).join('; ') || formatted.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: 'BAD_USER_INPUT', fields: problems },
    };
  }
  if (typeof code === 'string' && PUBLIC_CODES.has(code)) {
    const { http: _http, stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
    return { ...formatted, extensions };
  }
  return { message: 'Internal server error', locations: formatted.locations, path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}
