import 'reflect-metadata';
import { createLogger, loadConfigOrExit, runService } from '../../kit/src';
import { readAnalyticsConfig } from './config';
import { createAnalyticsServer } from './server';

const config = loadConfigOrExit(() => readAnalyticsConfig());
const log = createLogger('analytics', config.logLevel);

void runService(log, async () => {
  const server = await createAnalyticsServer({ config, log });
  const url = await server.listen(config.port, config.host);
  log.info({ url }, 'analytics subgraph listening');
  return server;
});
