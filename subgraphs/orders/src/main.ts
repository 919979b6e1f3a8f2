import 'reflect-metadata';
import { createLogger, loadConfigOrExit, processRole, roleOptions, runService } from '../../kit/src';
import { readOrdersConfig } from './config';
import { createOrdersServer } from './server';

const config = loadConfigOrExit(() => readOrdersConfig());
const role = loadConfigOrExit(() => processRole(process.argv.slice(2)));
const log = createLogger('orders', config.logLevel);

void runService(log, async () => {
  const server = await createOrdersServer({ config, log, ...roleOptions(role) });
  const url = await server.listen(config.port, config.host);
  log.info({ url, role }, 'orders subgraph listening');
  return server;
});
