import { randomBytes } from 'node:crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWTVerifyGetKey, type KeyLike } from 'jose';
import { JWT_ALGORITHM, JWT_AUDIENCE, JWT_ISSUER, type Role } from './auth';
import { dropDatabase } from './orm';

const POSTGRES_SERVER = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';

/** A database of its own for one test file; drop it in afterAll. */
export function testDatabaseUrl(name: string): { url: string; drop(): Promise<void> } {
  const url = `${POSTGRES_SERVER}/mercado_test_${name}_${randomBytes(4).toString('hex')}`;
  return { url, drop: () => dropDatabase(url) };
}

/** Signs access tokens the way the users subgraph does, for testing other subgraphs alone. */
export class TestIssuer {
  private constructor(
    readonly keys: JWTVerifyGetKey,
    private readonly privateKey: KeyLike,
  ) {}

  static async create(): Promise<TestIssuer> {
    const { publicKey, privateKey } = await generateKeyPair(JWT_ALGORITHM, { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'test', alg: JWT_ALGORITHM, use: 'sig' };
    return new TestIssuer(createLocalJWKSet({ keys: [jwk] }), privateKey );
  }

  /** With `apiKeyId`, a token as users trades for an API key. */
  sign(subject: string, role: Role = 'CUSTOMER', scopes: string[] = [], apiKeyId?: string): Promise<string> {
    return new SignJWT({ role, scopes, ...(apiKeyId ? { akid: apiKeyId } : {}) })
      .setProtectedHeader({ alg: JWT_ALGORITHM, kid: 'test' })
      .setSubject(subject)
      .setIssuer(JWT_ISSUER)
      .setAudience(JWT_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('15m')
      .sign(this.privateKey);
  }
}

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, any> }[];
  headers: Headers;
}

/** One GraphQL request over real HTTP. */
export async function graphqlRequest<T = Record<string, any>>(
  url: string,
  query: string,
  options: { variables?: Record<string, unknown>; token?: string; headers?: Record<string, string> } = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: JSON.stringify({ query, variables: options.variables }),
  });
  const text = await response.text();
  let body: { data?: T | null; errors?: GraphQLResponse['errors'] } = {};
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`Non-JSON response ${response.status}: ${text.slice(0, 200)}`);
  }
  return { status: response.status, data: body.data, errors: body.errors, headers: response.headers };
}

/** A queue's `bullmq_queue_jobs` figures by state, as a scrape of `registry` shows them (empty when it has none). */
export async function queueJobsOnMetrics(registry: { metrics(): Promise<string> }, queue: string): Promise<Record<string, number>> {
  const text = await registry.metrics();
  const lines = text.split('\n').filter((line) => line.startsWith(`bullmq_queue_jobs{queue="${queue}",`));
  return Object.fromEntries(lines.map((line) => [/state="(\w+)"/.exec(line)![1]!, Number(line.slice(line.lastIndexOf(' ') + 1))]));
}
