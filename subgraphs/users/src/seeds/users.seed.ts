import type { DemoUser } from '../../../../scripts/demo-data';
import { recordEvent, type EntityManager } from '../../../kit/src';
import { PasswordHasher } from '../auth/password';
import { UserEntity } from '../users/user.entity';
import { normalizeEmail } from '../users/user.service';

/**
 * Creates the demo users that do not exist yet (matched by email), with their roles and verified
 * addresses, and a `UserRegistered` event for each one created. Running it again changes nothing.
 */
export async function seedUsers(em: EntityManager, users: DemoUser[]): Promise<{ created: number; skipped: number }> {
  const wanted = new Map(users.map((user) => [normalizeEmail(user.email), user]));
  const existing = new Set((await em.find(UserEntity, { email: { $in: [...wanted.keys()] } })).map((user) => user.email));
  const missing = [...wanted].filter(([email]) => !existing.has(email));
  if (missing.length === 0) return { created: 0, skipped: wanted.size };

  const passwords = await PasswordHasher.create();
  const rows = await Promise.all(missing.map(async ([email, user]) => ({ email, user, passwordHash: await passwords.hash(user.password) })));
  await em.transactional(async (tx) => {
    const now = new Date();
    for (const { email, user, passwordHash } of rows) {
      const entity = tx.create(UserEntity, { id: user.id, email, name: user.name.trim(), passwordHash, role: user.role, emailVerifiedAt: now, createdAt: now, updatedAt: now });
      recordEvent(tx, 'users', 'UserRegistered', entity.id, { userId: entity.id, email, name: entity.name, role: entity.role, registeredAt: now.toISOString() });
    }
  });
  return { created: missing.length, skipped: wanted.size - missing.length };
}
