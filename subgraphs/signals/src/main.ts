import 'reflect-metadata';
import { createLogger, loadConfigOrExit, processRole, roleOptions, runService } from '../../kit/src';
import { readSignalsConfig } from './config';
import { createSignalsServer } from './server';

const config = loadConfigOrExit(() => readSignalsConfig());
const role = loadConfigOrExit(() => processRole(process.argv.slice(2)));
const log = createLogger('signals', config.logLevel);

void runService(log, async () => {
  const server = await createSignalsServer({ config, log, ...roleOptions(role) });
  const url = await server.listen(config.port, config.host);
  log.info({ url, role, webhook: `${config.publicBaseUrl}/webhook/u/<token>` }, 'signals subgraph listening');
  return server;
});
