/**
 * `npm run compose`: emits each subgraph's SDL from code, composes the supergraph and writes the
 * persisted query manifest of schema/operations.
 * `npm run compose:check`: fails when the committed files differ from what the code produces.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { printFederatedSdl } from '../subgraphs/kit/src/federation';
import { emitSchemas, staleFiles } from './composition';
import { buildPersistedQueryManifest, PERSISTED_QUERIES_FILE } from './persisted-queries';
import { SUBGRAPH_SCHEMAS } from './subgraphs';

const root = path.resolve(__dirname, '..');

async function main(check: boolean): Promise<number> {
  const emitted = await emitSchemas(path.join(root, 'supergraph.yaml'), SUBGRAPH_SCHEMAS, printFederatedSdl);
  const manifest = buildPersistedQueryManifest(path.join(root, 'schema/operations'));
  emitted.files.set(path.join(root, PERSISTED_QUERIES_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  if (check) {
    const stale = staleFiles(emitted);
    if (stale.length > 0) {
      console.error(`Schema files differ from the code; run \`npm run compose\` and commit:\n${stale.map((file) => `- ${path.relative(root, file)}`).join('\n')}`);
      return 1;
    }
    console.log(`compose:check: ${emitted.files.size} schema files match the code`);
    return 0;
  }
  for (const [file, text] of emitted.files) writeFileSync(file, text);
  console.log(`composed ${emitted.subgraphCount} subgraphs into schema/supergraph.graphql`);
  return 0;
}

main(process.argv.includes('--check')).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
