import 'reflect-metadata';
import { createLogger, loadConfigOrExit, processRole, roleOptions, runService } from '../../kit/src';
import { readPortfolioConfig } from './config';
import { createPortfolioServer } from './server';

const config = loadConfigOrExit(() => readPortfolioConfig());
const role = loadConfigOrExit(() => processRole(process.argv.slice(2)));
const log = createLogger('portfolio', config.logLevel);

void runService(log, async () => {
  const server = await createPortfolioServer({ config, log, ...roleOptions(role) });
  const url = await server.listen(config.port, config.host);
  log.info({ url, role }, 'portfolio subgraph listening');
  return server;
});
