import 'reflect-metadata';
import { createLogger, loadConfigOrExit, processRole, roleOptions, runService } from '../../kit/src';
import { readTradingConfig } from './config';
import { createTradingServer } from './server';

const config = loadConfigOrExit(() => readTradingConfig());
const role = loadConfigOrExit(() => processRole(process.argv.slice(2)));
const log = createLogger('trading', config.logLevel);

void runService(log, async () => {
  const server = await createTradingServer({ config, log, ...roleOptions(role) });
  const url = await server.listen(config.port, config.host);
  log.info({ url, role, marketFeed: config.marketFeed }, 'trading subgraph listening');
  return server;
});
