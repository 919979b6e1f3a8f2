import { createTokenVerifier, remoteKeys } from '../../subgraphs/kit/src/auth';
import { loadConfigOrExit, runService } from '../../subgraphs/kit/src/lifecycle';
import { createLogger } from '../../subgraphs/kit/src/logger';
import { readRouterConfig } from './config';
import { createRouter } from './server';

const config = loadConfigOrExit(() => readRouterConfig());
const log = createLogger('router', config.logLevel);

void runService(log, async () => {
  const router = await createRouter({ config, log, verifyToken: createTokenVerifier(remoteKeys(config.jwksUrl)) });
  const url = await router.listen(config.port, config.host);
  log.info({ url, supergraph: config.supergraphPath, env: config.env }, 'router listening');
  return router;
});
