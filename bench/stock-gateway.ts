/** Stock @apollo/gateway on Apollo Server with default settings: the baseline bench:router compares against. */
import { readFileSync } from 'node:fs';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

async function main(): Promise<void> {
  const gateway = new ApolloGateway({ supergraphSdl: readFileSync(process.env.SUPERGRAPH_PATH!, 'utf8') });
  const server = new ApolloServer({ gateway });
  const { url } = await startStandaloneServer(server, { listen: { port: Number(process.env.PORT), host: '127.0.0.1' } });
  console.log(`stock gateway at ${url}`);
  process.on('SIGTERM', () => void server.stop().then(() => process.exit(0)));
}

void main();
