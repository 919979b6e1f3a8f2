import * as argon2 from 'argon2';

/** argon2id with the OWASP-recommended minimum (19 MiB, 2 passes, 1 lane). */
export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/**
 * Hashes and checks passwords. `verifyNobody` checks against a dummy hash with the same
 * parameters, so a login for an unknown email costs the same as one with a wrong password.
 */
export class PasswordHasher {
  private constructor(private readonly dummyHash: string) {}

  static async create(): Promise<PasswordHasher> {
    return new PasswordHasher(await argon2.hash('dummy password for unknown accounts', ARGON2_OPTIONS));
  }

  hash(password: string): Promise<string> {
    return argon2.hash(password, ARGON2_OPTIONS);
  }

  async verify(hash: string, password: string): Promise<boolean> {
    try {
      return await argon2.verify(hash, password);
    } catch {
      return false;
    }
  }

  async verifyNobody(password: string): Promise<false> {
    await this.verify(this.dummyHash, password);
    return false;
  }

  needsRehash(hash: string): boolean {
    try {
      const { memoryCost, timeCost, parallelism } = ARGON2_OPTIONS;
      return !hash.startsWith('$argon2id$') || argon2.needsRehash(hash, { memoryCost, timeCost, parallelism });
    } catch {
      return true;
    }
  }
}
