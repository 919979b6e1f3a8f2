import 'reflect-metadata';
import { createLogger, loadConfigOrExit, runService } from '../../kit/src';
import { readUsersConfig } from './config';
import { createUsersServer } from './server';

const config = loadConfigOrExit(() => readUsersConfig());
const log = createLogger('users', config.logLevel);

void runService(log, async () => {
  const server = await createUsersServer({ config, log });
  const url = await server.listen(config.port, config.host);
  log.info({ url }, 'users subgraph listening');
  return server;
});
