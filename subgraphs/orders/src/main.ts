import 'reflect-metadata';
import { createLogger, loadConfigOrExit, runService } from '../../kit/src';
import { readOrdersConfig } from './config';
import { createOrdersServer } from './server';

const config = loadConfigOrExit(() => readOrdersConfig());
const log = createLogger('orders', config.logLevel);

void runService(log, async () => {
  const server = await createOrdersServer({ config, log });
  const url = await server.listen(config.port, config.host);
  log.info({ url }, 'orders subgraph listening');
  return server;
});
