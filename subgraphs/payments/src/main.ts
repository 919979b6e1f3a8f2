import 'reflect-metadata';
import { createLogger, loadConfigOrExit, runService } from '../../kit/src';
import { readPaymentsConfig } from './config';
import { createPaymentsServer } from './server';

const config = loadConfigOrExit(() => readPaymentsConfig());
const log = createLogger('payments', config.logLevel);

void runService(log, async () => {
  const server = await createPaymentsServer({ config, log });
  const url = await server.listen(config.port, config.host);
  log.info({ url, provider: server.provider.name }, 'payments subgraph listening');
  return server;
});
