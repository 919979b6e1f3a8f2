import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Kind, parse, print, visit, type DefinitionNode, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import type { PersistedOperation, PersistedQueryManifest } from '../router/src/plugins/persisted-queries';

/** Where `npm run compose` writes the manifest (relative to the repository). */
export const PERSISTED_QUERIES_FILE = 'schema/persisted-queries.json';

/** The fragments an operation spreads, directly or through other fragments. */
function fragmentsOf(operation: OperationDefinitionNode, fragments: Map<string, FragmentDefinitionNode>, file: string): FragmentDefinitionNode[] {
  const found = new Map<string, FragmentDefinitionNode>();
  const pending: DefinitionNode[] = [operation];
  while (pending.length > 0) {
    visit(pending.pop()!, {
      FragmentSpread(node) {
        const name = node.name.value;
        if (found.has(name)) return;
        const fragment = fragments.get(name);
        if (!fragment) throw new Error(`${file}: operation ${operation.name?.value} spreads unknown fragment ${name}`);
        found.set(name, fragment);
        pending.push(fragment);
      },
    });
  }
  return [...found.values()].sort((a, b) => a.name.value.localeCompare(b.name.value));
}

/**
 * The persisted query manifest of every named operation in `directory` (schema/operations): each
 * operation printed with the fragments it uses, its id the sha256 of that text. The router serves
 * them by id; partners' API keys may run nothing else.
 */
export function buildPersistedQueryManifest(directory: string): PersistedQueryManifest {
  const files = readdirSync(directory).filter((file) => file.endsWith('.graphql')).sort();
  const parsed = files.flatMap((file) => parse(readFileSync(path.join(directory, file), 'utf8')).definitions.map((definition) => ({ file, definition })));
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const { definition } of parsed) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const operations: PersistedOperation[] = [];
  const names = new Set<string>();
  for (const { file, definition } of parsed) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    const name = definition.name?.value;
    if (!name) throw new Error(`${file}: every operation needs a name`);
    if (names.has(name)) throw new Error(`${file}: operation name ${name} is used twice`);
    names.add(name);
    const body = print({ kind: Kind.DOCUMENT, definitions: [definition, ...fragmentsOf(definition, fragments, file)] });
    operations.push({ id: createHash('sha256').update(body).digest('hex'), name, type: definition.operation, body });
  }
  operations.sort((a, b) => a.name.localeCompare(b.name));
  return { format: 'apollo-persisted-query-manifest', version: 1, operations };
}
