import 'reflect-metadata';
import { createLogger, loadConfigOrExit, runService } from '../../kit/src';
import { readPortfolioConfig } from './config';
import { createPortfolioServer } from './server';

const config = loadConfigOrExit(() => readPortfolioConfig());
const log = createLogger('portfolio', config.logLevel);

void runService(log, async () => {
  const server = await createPortfolioServer({ config, log });
  const url = await server.listen(config.port, config.host);
  log.info({ url }, 'portfolio subgraph listening');
  return server;
});
