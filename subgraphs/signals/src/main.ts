import 'reflect-metadata';
import { createLogger, loadConfigOrExit, runService } from '../../kit/src';
import { readSignalsConfig } from './config';
import { createSignalsServer } from './server';

const config = loadConfigOrExit(() => readSignalsConfig());
const log = createLogger('signals', config.logLevel);

void runService(log, async () => {
  const server = await createSignalsServer({ config, log });
  const url = await server.listen(config.port, config.host);
  log.info({ url, webhook: `${config.publicBaseUrl}/webhook/u/<token>` }, 'signals subgraph listening');
  return server;
});
