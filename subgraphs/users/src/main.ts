import 'reflect-metadata';
import { createLogger, loadConfigOrExit, processRole, roleOptions, runService } from '../../kit/src';
import { readUsersConfig } from './config';
import { createUsersServer } from './server';

const config = loadConfigOrExit(() => readUsersConfig());
const role = loadConfigOrExit(() => processRole(process.argv.slice(2)));
const log = createLogger('users', config.logLevel);

void runService(log, async () => {
  const server = await createUsersServer({ config, log, ...roleOptions(role) });
  const url = await server.listen(config.port, config.host);
  log.info({ url, role }, 'users subgraph listening');
  return server;
});
