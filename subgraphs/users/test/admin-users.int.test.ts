import { DEMO_USERS } from '../../../scripts/demo-data';
import { seedUsers } from '../src/seeds/users.seed';
import { LOGIN, ME, startUsers, type UsersHarness } from './harness';

const USERS = `query Users($filter: UsersFilter, $first: Int, $after: String) {
  users(filter: $filter, first: $first, after: $after) { edges { cursor node { id email name role deletedAt } } pageInfo { hasNextPage endCursor } }
}`;
const DELETE_USER = 'mutation DeleteUser($userId: ID!) { deleteUser(userId: $userId) { id name email deletedAt } }';
const SET_ROLE = 'mutation SetRole($userId: ID!, $role: Role!) { setUserRole(userId: $userId, role: $role) { id } }';

describe('users: ADMINs list and delete accounts', () => {
  let users: UsersHarness;
  let adminToken: string;
  let adminId: string;

  const list = (variables: Record<string, unknown>, token = adminToken) => users.gql(USERS, variables, token);
  const emailsOf = (response: Awaited<ReturnType<typeof list>>): string[] => response.data!.users.edges.map((edge: { node: { email: string } }) => edge.node.email);
  const deletedEvents = (userId: string) => users.sql(`select id from outbox where type = 'UserDeleted' and subject = ?`, [userId]);

  beforeAll(async () => {
    users = await startUsers();
    await seedUsers(users.server.orm.em.fork(), DEMO_USERS);
    const admin = DEMO_USERS.find((user) => user.role === 'ADMIN')!;
    const login = (await users.gql(LOGIN, { input: { email: admin.email, password: admin.password } })).data!.login;
    adminToken = login.accessToken;
    adminId = login.user.id;
  });

  afterAll(async () => {
    await users?.close();
  });

  it('pages through accounts newest first and finds them by part of the email or name, or by role', async () => {
    for (const [index, name] of ['Ada Lovelace', 'Alan Turing', 'Grace Hopper'].entries()) {
      await users.register(`listed-${index}@example.com`, 'correct horse battery', name);
      users.clock.advance(1);
    }
    const first = await list({ first: 2, filter: { search: 'LISTED-' } });
    expect(emailsOf(first)).toEqual(['listed-2@example.com', 'listed-1@example.com']);
    expect(first.data!.users.pageInfo.hasNextPage).toBe(true);
    const second = await list({ first: 2, after: first.data!.users.pageInfo.endCursor, filter: { search: 'listed-' } });
    expect(emailsOf(second)).toEqual(['listed-0@example.com']);
    expect(second.data!.users.pageInfo).toEqual({ hasNextPage: false, endCursor: second.data!.users.edges[0].cursor });

    expect(emailsOf(await list({ filter: { search: 'turing' } }))).toEqual(['listed-1@example.com']);
    // Wildcards are plain characters: `_` and `%` match only themselves.
    expect(emailsOf(await list({ filter: { search: 'listed_' } }))).toEqual([]);
    expect(emailsOf(await list({ filter: { search: '%' } }))).toEqual([]);
    const admins = await list({ filter: { role: 'ADMIN' } });
    expect(admins.data!.users.edges.map((edge: { node: { id: string } }) => edge.node.id)).toEqual([adminId]);
  });

  it('refuses everyone but ADMINs, and bad pages', async () => {
    const customer = await users.register('nosy@example.com');
    expect((await list({}, customer.accessToken)).errors![0]!.extensions!.code).toBe('FORBIDDEN');
    expect((await users.gql(USERS, {})).errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    expect((await list({ after: 'not-a-cursor' })).errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect((await list({ first: 0 })).errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect((await list({ first: 201 })).errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
  });

  it('deletes an account as the user could, shown among the deleted only', async () => {
    const { user, accessToken } = await users.register('reported@example.com');

    const deleted = await users.gql(DELETE_USER, { userId: user.id }, adminToken);
    expect(deleted.data!.deleteUser).toEqual({ id: user.id, name: 'Deleted user', email: null, deletedAt: expect.any(String) });
    expect(await deletedEvents(user.id)).toHaveLength(1);
    expect((await users.gql(ME, {}, accessToken)).data).toEqual({ me: null });
    expect(await users.sql('select id from refresh_token where user_id = ?', [user.id])).toEqual([]);

    expect(emailsOf(await list({ filter: { search: 'reported' } }))).toEqual([]);
    const gone = await list({ filter: { deleted: true } });
    expect(gone.data!.users.edges.map((edge: { node: { id: string } }) => edge.node)).toContainEqual({ id: user.id, email: null, name: 'Deleted user', role: 'CUSTOMER', deletedAt: expect.any(String) });

    // Twice is NOT_FOUND, and no second event.
    expect((await users.gql(DELETE_USER, { userId: user.id }, adminToken)).errors![0]!.extensions!.code).toBe('NOT_FOUND');
    expect(await deletedEvents(user.id)).toHaveLength(1);
  });

  it("refuses to delete the ADMIN's own account, another ADMIN's, an unknown one, and anyone's for a non-ADMIN", async () => {
    const { user: other } = await users.register('second-admin@example.com');
    expect((await users.gql(SET_ROLE, { userId: other.id, role: 'ADMIN' }, adminToken)).errors).toBeUndefined();
    const { user: victim, accessToken: customerToken } = await users.register('target@example.com');

    expect((await users.gql(DELETE_USER, { userId: adminId }, adminToken)).errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect((await users.gql(DELETE_USER, { userId: other.id }, adminToken)).errors![0]!.extensions!.code).toBe('CONFLICT');
    expect((await users.gql(DELETE_USER, { userId: '00000000-0000-4000-8000-000000000000' }, adminToken)).errors![0]!.extensions!.code).toBe('NOT_FOUND');
    expect((await users.gql(DELETE_USER, { userId: 'nope' }, adminToken)).errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect((await users.gql(DELETE_USER, { userId: victim.id }, customerToken)).errors![0]!.extensions!.code).toBe('FORBIDDEN');

    for (const id of [adminId, other.id, victim.id]) expect(await deletedEvents(id)).toEqual([]);
  });
});
