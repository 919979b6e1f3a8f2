import type { GraphQLRequestListener } from '@apollo/server';
import { isExpectedError, maskError } from '../../../subgraphs/kit/src/errors';
import type { RouterContext, RouterPlugin } from './types';

/**
 * What clients see of errors, with the kit's semantics: registry and protocol codes pass through
 * (a subgraph's keep its `extensions.serviceName`), anything else becomes "Internal server error"
 * INTERNAL_SERVER_ERROR. The real error is logged with the request id, so a client quoting its
 * `x-request-id` can be traced.
 */
export function errorMaskingPlugin(): RouterPlugin {
  const listener: GraphQLRequestListener<RouterContext> = {
    async didEncounterErrors({ errors, contextValue }) {
      for (const error of errors) {
        if (isExpectedError(error)) continue;
        const original = error.originalError ?? error;
        contextValue.log.error(
          { err: original, message: error.message, path: error.path, serviceName: error.extensions?.serviceName, code: error.extensions?.code },
          'masked an unexpected error',
        );
      }
    },
  };
  return {
    name: 'error-masking',
    formatError: maskError,
    apollo: {
      async requestDidStart() {
        return listener;
      },
    },
  };
}
