import 'reflect-metadata';
import { createLogger, loadConfigOrExit, runService } from '../../kit/src';
import { readCatalogConfig } from './config';
import { createCatalogServer } from './server';

const config = loadConfigOrExit(() => readCatalogConfig());
const log = createLogger('catalog', config.logLevel);

void runService(log, async () => {
  const server = await createCatalogServer({ config, log });
  const url = await server.listen(config.port, config.host);
  log.info({ url }, 'catalog subgraph listening');
  return server;
});
