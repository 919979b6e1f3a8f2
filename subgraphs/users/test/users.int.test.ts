import { onSql } from '../../kit/src';
import { DEMO_USERS } from '../../../scripts/demo-data';
import { seedUsers } from '../src/seeds/users.seed';
import { LOGIN, ME, startUsers, type UsersHarness } from './harness';

const SET_ROLE = 'mutation SetRole($userId: ID!, $role: Role!) { setUserRole(userId: $userId, role: $role) { id email role } }';
const ENTITIES = 'query Entities($r: [_Any!]!) { _entities(representations: $r) { ... on User { id email name role totpEnabled } } }';

describe('users: roles, privacy and entity references', () => {
  let users: UsersHarness;
  let adminToken: string;
  let admin: { id: string };

  beforeAll(async () => {
    users = await startUsers();
    await seedUsers(users.server.orm.em.fork(), DEMO_USERS);
    const adminUser = DEMO_USERS.find((user) => user.role === 'ADMIN')!;
    const login = await users.gql(LOGIN, { input: { email: adminUser.email, password: adminUser.password } });
    adminToken = login.data!.login.accessToken;
    admin = login.data!.login.user;
  });

  afterAll(async () => {
    await users?.close();
  });

  describe('seedUsers', () => {
    it('created the demo users with their roles and is idempotent', async () => {
      const rows = await users.sql('select email, role from users order by email');
      expect(rows).toEqual(DEMO_USERS.map((user) => ({ email: user.email, role: user.role })).sort((a, b) => a.email.localeCompare(b.email)));
      const before = await Promise.all([users.count('users'), users.count('outbox')]);
      await expect(seedUsers(users.server.orm.em.fork(), DEMO_USERS)).resolves.toEqual({ created: 0, skipped: DEMO_USERS.length });
      expect(await Promise.all([users.count('users'), users.count('outbox')])).toEqual(before);
    });
  });

  describe('setUserRole', () => {
    it('is refused to a CUSTOMER, even for their own account, and changes nothing', async () => {
      const customer = await users.register('climber@example.com');
      const result = await users.gql(SET_ROLE, { userId: customer.user.id, role: 'ADMIN' }, customer.accessToken);
      expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const [row] = await users.sql('select role from users where id = ?', [customer.user.id]);
      expect(row!.role).toBe('CUSTOMER');
      expect((await users.gql(SET_ROLE, { userId: customer.user.id, role: 'ADMIN' })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });

    it('lets an ADMIN change a role, which the next access token carries', async () => {
      const trader = await users.register('trader@example.com');
      const result = await users.gql(SET_ROLE, { userId: trader.user.id, role: 'TRADER' }, adminToken);
      expect(result.errors).toBeUndefined();
      expect(result.data!.setUserRole).toEqual({ id: trader.user.id, email: 'trader@example.com', role: 'TRADER' });
      const refreshed = await users.gql(LOGIN, { input: { email: 'trader@example.com', password: 'correct horse battery' } });
      expect(refreshed.data!.login.user.role).toBe('TRADER');
      expect((await users.gql(ME, {}, refreshed.data!.login.accessToken)).data!.me.role).toBe('TRADER');
    });

    it('answers NOT_FOUND for an unknown user and BAD_USER_INPUT for a malformed id', async () => {
      const unknown = await users.gql(SET_ROLE, { userId: '00000000-0000-4000-8000-000000000000', role: 'TRADER' }, adminToken);
      expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      const malformed = await users.gql(SET_ROLE, { userId: 'nope', role: 'TRADER' }, adminToken);
      expect(malformed.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    });
  });

  describe('_entities', () => {
    it('hides email and totpEnabled from other users and anonymous callers, shows them to self and ADMIN', async () => {
      const alice = await users.register('alice.private@example.com', 'correct horse battery', 'Alice');
      const mallory = await users.register('mallory@example.com', 'correct horse battery', 'Mallory');
      const reference = { r: [{ __typename: 'User', id: alice.user.id }] };

      const asMallory = await users.gql(ENTITIES, reference, mallory.accessToken);
      expect(asMallory.errors).toBeUndefined();
      expect(asMallory.data!._entities).toEqual([{ id: alice.user.id, email: null, name: 'Alice', role: 'CUSTOMER', totpEnabled: null }]);
      expect(JSON.stringify(asMallory)).not.toContain('alice.private@example.com');

      const anonymous = await users.gql(ENTITIES, reference);
      expect(anonymous.data!._entities[0].email).toBeNull();

      const asAlice = await users.gql(ENTITIES, reference, alice.accessToken);
      expect(asAlice.data!._entities[0]).toMatchObject({ email: 'alice.private@example.com', totpEnabled: false });

      const asAdmin = await users.gql(ENTITIES, reference, adminToken);
      expect(asAdmin.data!._entities[0].email).toBe('alice.private@example.com');
    });

    it('resolves many references with one SQL query, in order, null for unknown or malformed ids', async () => {
      const created = await Promise.all(['ref1', 'ref2', 'ref3'].map((name) => users.register(`${name}@example.com`, 'correct horse battery', name)));
      const ids = [created[2]!.user.id, admin.id, '00000000-0000-4000-8000-000000000000', created[0]!.user.id, 'not-a-uuid', created[1]!.user.id, created[0]!.user.id];
      const statements: string[] = [];
      const stop = onSql(users.server.orm, (sql) => statements.push(sql));
      try {
        const result = await users.gql(ENTITIES, { r: ids.map((id) => ({ __typename: 'User', id })) }, adminToken);
        expect(result.errors).toBeUndefined();
        expect(result.data!._entities.map((entity: { id: string } | null) => entity?.id ?? null)).toEqual([
          created[2]!.user.id,
          admin.id,
          null,
          created[0]!.user.id,
          null,
          created[1]!.user.id,
          created[0]!.user.id,
        ]);
        expect(result.data!._entities[0].name).toBe('ref3');
      } finally {
        stop();
      }
      expect(statements.filter((sql) => /from "users"/i.test(sql))).toHaveLength(1);
      expect(statements).toHaveLength(1);
    });
  });
});
