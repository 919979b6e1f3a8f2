import type { ApiKeyService } from './api-keys/api-key.service';
import type { AuthService } from './auth/auth.service';
import type { EmailService } from './email/email.service';
import type { TotpService } from './totp/totp.service';
import type { UserService } from './users/user.service';

/** What the resolvers delegate to; built once per server by createUsersServer. */
export interface UsersServices {
  auth: AuthService;
  email: EmailService;
  users: UserService;
  totp: TotpService;
  apiKeys: ApiKeyService;
}
