import 'reflect-metadata';
import { createLogger, loadConfigOrExit, processRole, roleOptions, runService } from '../../kit/src';
import { readAnalyticsConfig } from './config';
import { createAnalyticsServer } from './server';

const config = loadConfigOrExit(() => readAnalyticsConfig());
const role = loadConfigOrExit(() => processRole(process.argv.slice(2)));
const log = createLogger('analytics', config.logLevel);

void runService(log, async () => {
  const server = await createAnalyticsServer({ config, log, ...roleOptions(role) });
  const url = await server.listen(config.port, config.host);
  log.info({ url, role }, 'analytics subgraph listening');
  return server;
});
