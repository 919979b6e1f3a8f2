import 'reflect-metadata';
import { createLogger, loadConfigOrExit, runService } from '../../kit/src';
import { readTradingConfig } from './config';
import { createTradingServer } from './server';

const config = loadConfigOrExit(() => readTradingConfig());
const log = createLogger('trading', config.logLevel);

void runService(log, async () => {
  const server = await createTradingServer({ config, log });
  const url = await server.listen(config.port, config.host);
  log.info({ url, marketFeed: config.marketFeed }, 'trading subgraph listening');
  return server;
});
