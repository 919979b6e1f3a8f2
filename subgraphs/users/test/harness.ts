import { createLogger, type Logger } from '../../kit/src';
import { graphqlRequest, testDatabaseUrl, type GraphQLResponse } from '../../kit/src/testing';
import { readUsersConfig } from '../src/config';
import { createUsersServer, type UsersServer } from '../src/server';

/** A clock tests move forward instead of sleeping. */
export class TestClock {
  private current = new Date('2030-01-01T12:00:00.000Z');

  readonly now = (): Date => new Date(this.current);

  advance(seconds: number): void {
    this.current = new Date(this.current.getTime() + seconds * 1000);
  }
}

export const AUTH_FIELDS = 'accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt user { id email name role createdAt totpEnabled }';
export const REGISTER = `mutation Register($input: RegisterInput!) { register(input: $input) { ${AUTH_FIELDS} } }`;
export const LOGIN = `mutation Login($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`;
export const REFRESH = `mutation Refresh($token: String!) { refreshToken(refreshToken: $token) { ${AUTH_FIELDS} } }`;
export const LOGOUT = 'mutation Logout($token: String!) { logout(refreshToken: $token) }';
export const ME = '{ me { id email name role createdAt totpEnabled } }';

export interface UsersHarness {
  server: UsersServer;
  url: string;
  base: string;
  clock: TestClock;
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GraphQLResponse<T>>;
  /** Registers and returns the payload, failing the test on errors. */
  register(email: string, password?: string, name?: string): Promise<{ accessToken: string; refreshToken: string; user: { id: string; email: string } }>;
  /** Rows in a table, read straight from the database. */
  count(table: 'users' | 'refresh_token' | 'outbox'): Promise<number>;
  sql<T = Record<string, any>>(query: string, params?: unknown[]): Promise<T[]>;
  /** Marks the user's email verified, as its mailed link would (for tests about something else). */
  markEmailVerified(userId: string): Promise<void>;
  close(): Promise<void>;
}

/** `log` replaces the silent logger, for tests that read what the server logs. */
export async function startUsers(env: Record<string, string> = {}, log?: Logger): Promise<UsersHarness> {
  const database = testDatabaseUrl('users');
  const clock = new TestClock();
  const config = readUsersConfig({ DATABASE_URL: database.url, NODE_ENV: 'test', LOG_LEVEL: 'silent', EVENTS_ENABLED: 'false', ...env });
  const server = await createUsersServer({ config, log: log ?? createLogger('users-test', process.env.USERS_TEST_LOG ?? 'silent'), clock: clock.now });
  const url = await server.listen(0);
  const sql = <T>(query: string, params: unknown[] = []) => server.orm.em.getConnection().execute<T[]>(query, params);
  const harness: UsersHarness = {
    server,
    url,
    base: url.replace(/\/graphql$/, ''),
    clock,
    gql: (query, variables, token) => graphqlRequest(url, query, { variables, token }),
    async register(email, password = 'correct horse battery', name = 'Test User') {
      const result = await harness.gql(REGISTER, { input: { email, password, name } });
      if (result.errors) throw new Error(`register failed: ${JSON.stringify(result.errors)}`);
      return result.data!.register;
    },
    async count(table) {
      const [row] = await sql<{ n: number }>(`select count(*)::int as n from "${table}"`);
      return row!.n;
    },
    sql,
    async markEmailVerified(userId) {
      await sql('update "users" set "email_verified_at" = now() where "id" = ?', [userId]);
    },
    async close() {
      try {
        await server.close();
      } finally {
        await database.drop();
      }
    },
  };
  return harness;
}
