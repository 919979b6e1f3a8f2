import 'reflect-metadata';
import { createLogger, loadConfigOrExit, processRole, roleOptions, runService } from '../../kit/src';
import { readCatalogConfig } from './config';
import { createCatalogServer } from './server';

const config = loadConfigOrExit(() => readCatalogConfig());
const role = loadConfigOrExit(() => processRole(process.argv.slice(2)));
const log = createLogger('catalog', config.logLevel);

void runService(log, async () => {
  const server = await createCatalogServer({ config, log, ...roleOptions(role) });
  const url = await server.listen(config.port, config.host);
  log.info({ url, role }, 'catalog subgraph listening');
  return server;
});
