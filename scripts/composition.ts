import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse, printSchema, type GraphQLSchema } from 'graphql';
import YAML from 'yaml';

export interface SupergraphConfig {
  federationVersion: string;
  subgraphs: { name: string; routingUrl: string; schemaFile: string }[];
}

/** Reads rover's supergraph.yaml format. */
export function readSupergraphConfig(file: string): SupergraphConfig {
  const raw = YAML.parse(readFileSync(file, 'utf8')) as {
    federation_version?: string;
    subgraphs?: Record<string, { routing_url?: string; schema?: { file?: string } }>;
  };
  const base = path.dirname(file);
  const subgraphs = Object.entries(raw.subgraphs ?? {}).map(([name, entry]) => {
    if (!entry.routing_url || !entry.schema?.file) throw new Error(`${file}: subgraph "${name}" needs routing_url and schema.file`);
    return { name, routingUrl: entry.routing_url, schemaFile: path.resolve(base, entry.schema.file) };
  });
  if (subgraphs.length === 0) throw new Error(`${file}: no subgraphs`);
  return { federationVersion: String(raw.federation_version ?? ''), subgraphs };
}

export class CompositionError extends Error {}

/** Composes subgraph SDLs into a supergraph SDL; errors name the subgraphs involved. */
export function composeSupergraph(subgraphs: { name: string; url: string; sdl: string }[]): { supergraphSdl: string; apiSdl: string } {
  const services = subgraphs.map(({ name, url, sdl }) => {
    try {
      return { name, url, typeDefs: parse(sdl) };
    } catch (error) {
      throw new CompositionError(`[${name}] invalid SDL: ${(error as Error).message}`);
    }
  });
  const result = composeServices(services);
  if (result.errors) {
    const lines = result.errors.map((error) => `- ${error.extensions?.code ?? 'ERROR'}: ${error.message}`);
    throw new CompositionError(`Composition failed with ${result.errors.length} error(s):\n${lines.join('\n')}`);
  }
  return { supergraphSdl: result.supergraphSdl, apiSdl: printSchema(result.schema.toAPISchema().toGraphQLJSSchema()) };
}

export interface EmittedSchemas {
  /** File path → the text the code produces for it. */
  files: Map<string, string>;
  subgraphCount: number;
}

/**
 * Builds every subgraph's SDL from code and composes them as supergraph.yaml says.
 * Writes nothing; the caller writes the files or compares them with what is committed.
 */
export async function emitSchemas(
  configFile: string,
  builders: Record<string, () => Promise<GraphQLSchema>>,
  print: (schema: GraphQLSchema) => string,
): Promise<EmittedSchemas> {
  const config = readSupergraphConfig(configFile);
  const installed = (require('@apollo/composition/package.json') as { version: string }).version;
  if (config.federationVersion && config.federationVersion.replace(/^=/, '') !== installed) {
    throw new CompositionError(`supergraph.yaml asks for federation ${config.federationVersion}, @apollo/composition ${installed} is installed`);
  }
  const files = new Map<string, string>();
  const subgraphs: { name: string; url: string; sdl: string }[] = [];
  for (const subgraph of config.subgraphs) {
    const build = builders[subgraph.name];
    if (!build) throw new CompositionError(`[${subgraph.name}] is in supergraph.yaml but has no schema builder`);
    let sdl: string;
    try {
      sdl = `${print(await build()).trim()}\n`;
    } catch (error) {
      throw new CompositionError(`[${subgraph.name}] schema build failed: ${(error as Error).message}`);
    }
    files.set(subgraph.schemaFile, sdl);
    subgraphs.push({ name: subgraph.name, url: subgraph.routingUrl, sdl });
  }
  const composed = composeSupergraph(subgraphs);
  const schemaDir = path.join(path.dirname(configFile), 'schema');
  files.set(path.join(schemaDir, 'supergraph.graphql'), `${composed.supergraphSdl.trim()}\n`);
  files.set(path.join(schemaDir, 'api.graphql'), `${composed.apiSdl.trim()}\n`);
  return { files, subgraphCount: subgraphs.length };
}

/** The emitted files whose committed copy is missing or different. */
export const staleFiles = (emitted: EmittedSchemas): string[] =>
  [...emitted.files].filter(([file, text]) => !existsSync(file) || readFileSync(file, 'utf8') !== text).map(([file]) => file);
