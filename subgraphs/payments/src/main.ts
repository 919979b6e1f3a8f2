import 'reflect-metadata';
import { createLogger, loadConfigOrExit, processRole, roleOptions, runService } from '../../kit/src';
import { readPaymentsConfig } from './config';
import { createPaymentsServer } from './server';

const config = loadConfigOrExit(() => readPaymentsConfig());
const role = loadConfigOrExit(() => processRole(process.argv.slice(2)));
const log = createLogger('payments', config.logLevel);

void runService(log, async () => {
  const server = await createPaymentsServer({ config, log, ...roleOptions(role) });
  const url = await server.listen(config.port, config.host);
  log.info({ url, role, provider: server.provider.name }, 'payments subgraph listening');
  return server;
});
