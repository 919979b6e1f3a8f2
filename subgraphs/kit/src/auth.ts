import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { AppError, forbidden, unauthenticated } from './errors';

export const ROLES = ['CUSTOMER', 'TRADER', 'ADMIN', 'PARTNER'] as const;
export type Role = (typeof ROLES)[number];

export const JWT_ISSUER = 'mercado-users';
export const JWT_AUDIENCE = 'mercado';
export const JWT_ALGORITHM = 'ES256';

/** Who is calling, as proven by a verified access token. */
export interface Viewer {
  id: string;
  role: Role;
  scopes: string[];
  /** Set when the token was exchanged for an API key (`akid` claim): a partner's program, not a person. */
  apiKeyId?: string;
}

export type TokenVerifier = (token: string) => Promise<Viewer>;

/** Keys fetched from the users subgraph's JWKS endpoint, cached, refetched on an unknown `kid`. */
export const remoteKeys = (jwksUrl: string): JWTVerifyGetKey =>
  createRemoteJWKSet(new URL(jwksUrl), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000, timeoutDuration: 5_000 });

export function createTokenVerifier(keys: JWTVerifyGetKey): TokenVerifier {
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, keys, { issuer: JWT_ISSUER, audience: JWT_AUDIENCE, algorithms: [JWT_ALGORITHM] });
      const role = payload.role as Role;
      if (typeof payload.sub !== 'string' || !ROLES.includes(role)) throw new Error('token lacks subject or role');
      const scopes = Array.isArray(payload.scopes) ? payload.scopes.filter((scope): scope is string => typeof scope === 'string') : [];
      const viewer: Viewer = { id: payload.sub, role, scopes };
      if (typeof payload.akid === 'string') viewer.apiKeyId = payload.akid;
      return viewer;
    } catch {
      throw new AppError('UNAUTHENTICATED', 'Invalid or expired access token', { http: { status: 401 } });
    }
  };
}

/** Reads `Authorization: Bearer …`; no header means an anonymous caller, a bad token is refused. */
export async function viewerFromHeader(header: string | undefined | null, verify: TokenVerifier): Promise<Viewer | null> {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (!match) throw new AppError('UNAUTHENTICATED', 'Authorization header must be "Bearer <token>"', { http: { status: 401 } });
  return verify(match[1]!);
}

export function requireViewer(viewer: Viewer | null): Viewer {
  if (!viewer) throw unauthenticated();
  return viewer;
}

export function requireRole(viewer: Viewer | null, ...roles: Role[]): Viewer {
  const signedIn = requireViewer(viewer);
  if (!roles.includes(signedIn.role)) throw forbidden(`Requires role ${roles.join(' or ')}`);
  return signedIn;
}
