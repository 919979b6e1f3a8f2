import { printFederatedSdl } from '../../kit/src';
import { buildUsersSchema } from '../src/schema';
import { UserEntity } from '../src/users/user.entity';
import { toUser } from '../src/users/user.type';

describe('users schema', () => {
  it('prints the public contract without services', async () => {
    const sdl = printFederatedSdl(await buildUsersSchema());
    expect(sdl).toMatch(/type User\s+@key\(fields: "id"\)/);
    expect(sdl).toMatch(/enum Role \{\s+CUSTOMER\s+TRADER\s+ADMIN\s+PARTNER\s+\}/);
    expect(sdl).toMatch(/email: String\n/);
    for (const field of [
      'register(input: RegisterInput!): AuthPayload!',
      'login(input: LoginInput!): AuthPayload!',
      'refreshToken(refreshToken: String!): AuthPayload!',
      'logout(refreshToken: String!): Boolean!',
      'setUserRole(userId: ID!, role: Role!): User!',
      'enrollTotp: TotpEnrollment!',
      'confirmTotp(code: String!): Boolean!',
      'disableTotp(code: String!): Boolean!',
      'me: User',
      'apiKeys: [ApiKey!]!',
      'createApiKey(input: CreateApiKeyInput!): CreatedApiKey!',
      'revokeApiKey(id: ID!): ApiKey!',
    ]) {
      expect(sdl).toContain(field);
    }
    expect(sdl).toMatch(/input LoginInput \{[^}]*totp: String\n/);
    expect(sdl).toMatch(/enum ApiKeyScope \{[^}]*READ[^}]*WRITE[^}]*\}/);
    expect(sdl).toMatch(/input CreateApiKeyInput \{[^}]*expiresInDays: Int\n/);
    expect(sdl).not.toMatch(/passwordHash|totpSecret|failedLoginCount|keyHash/);
  });
});

describe('toUser', () => {
  const entity = Object.assign(new UserEntity(), { id: 'u1', email: 'u1@example.com', name: 'U', passwordHash: 'x' });

  it('shows private fields to the user, ADMINs and self payloads only', () => {
    expect(toUser(entity, { viewer: null }).email).toBeNull();
    expect(toUser(entity, { viewer: { id: 'u2', role: 'TRADER', scopes: [] } })).toMatchObject({ email: null, emailVerified: null, totpEnabled: null });
    expect(toUser(entity, { viewer: { id: 'u2', role: 'PARTNER', scopes: ['users:read'] } }).email).toBeNull();
    expect(toUser(entity, { viewer: { id: 'u1', role: 'CUSTOMER', scopes: [] } })).toMatchObject({ email: 'u1@example.com', emailVerified: false, totpEnabled: false });
    expect(toUser(Object.assign(new UserEntity(), entity, { emailVerifiedAt: new Date() }), { viewer: { id: 'u9', role: 'ADMIN', scopes: [] } }).emailVerified).toBe(true);
    expect(toUser(entity, { viewer: { id: 'u9', role: 'ADMIN', scopes: [] } }).email).toBe('u1@example.com');
    expect(toUser(entity, { self: true }).email).toBe('u1@example.com');
    expect(toUser(entity, { self: true })).not.toHaveProperty('passwordHash');
  });
});
