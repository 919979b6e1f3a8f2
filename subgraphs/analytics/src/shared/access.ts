import type { MiddlewareFn } from 'type-graphql';
import { requireRole, type RequestContext } from '../../../kit/src';

/** Checks the role before arguments are validated, so a non-admin learns nothing about inputs. */
export const adminOnly: MiddlewareFn<RequestContext> = ({ context }, next) => {
  requireRole(context.viewer, 'ADMIN');
  return next();
};
