import 'reflect-metadata';
import { createLogger, loadConfigOrExit, runService } from '../../kit/src';
import { readInventoryConfig } from './config';
import { createInventoryServer } from './server';

const config = loadConfigOrExit(() => readInventoryConfig());
const log = createLogger('inventory', config.logLevel);

void runService(log, async () => {
  const server = await createInventoryServer({ config, log });
  const url = await server.listen(config.port, config.host);
  log.info({ url }, 'inventory subgraph listening');
  return server;
});
