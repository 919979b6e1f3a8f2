import 'reflect-metadata';
import { createLogger, loadConfigOrExit, processRole, roleOptions, runService } from '../../kit/src';
import { readInventoryConfig } from './config';
import { createInventoryServer } from './server';

const config = loadConfigOrExit(() => readInventoryConfig());
const role = loadConfigOrExit(() => processRole(process.argv.slice(2)));
const log = createLogger('inventory', config.logLevel);

void runService(log, async () => {
  const server = await createInventoryServer({ config, log, ...roleOptions(role) });
  const url = await server.listen(config.port, config.host);
  log.info({ url, role }, 'inventory subgraph listening');
  return server;
});
