import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildSubgraphSchema, printSubgraphSchema } from '@apollo/subgraph';
import { parse, type GraphQLSchema } from 'graphql';
import { CompositionError, emitSchemas, staleFiles } from '../composition';

const link = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])';
const subgraph = (sdl: string) => async (): Promise<GraphQLSchema> => buildSubgraphSchema({ typeDefs: parse(`${link}\n${sdl}`) });

describe('schema composition', () => {
  let dir: string;
  let configFile: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'mercado-compose-'));
    mkdirSync(path.join(dir, 'schema'));
    configFile = path.join(dir, 'supergraph.yaml');
    writeFileSync(
      configFile,
      [
        'federation_version: =2.14.4',
        'subgraphs:',
        '  people:',
        '    routing_url: http://127.0.0.1:4101/graphql',
        '    schema: { file: ./schema/people.graphql }',
        '  pets:',
        '    routing_url: http://127.0.0.1:4102/graphql',
        '    schema: { file: ./schema/pets.graphql }',
      ].join('\n'),
    );
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const builders = {
    people: subgraph('type Person @key(fields: "id") { id: ID! name: String! } type Query { people: [Person!]! }'),
    pets: subgraph('type Person @key(fields: "id") { id: ID! pets: [String!]! } type Query { pet: String }'),
  };

  it('emits each subgraph SDL and a supergraph with join directives and routing urls', async () => {
    const emitted = await emitSchemas(configFile, builders, printSubgraphSchema);
    const supergraph = emitted.files.get(path.join(dir, 'schema/supergraph.graphql'))!;
    expect(supergraph).toContain('join__graph(name: "people", url: "http://127.0.0.1:4101/graphql")');
    expect(supergraph).toContain('pets: [String!]!');
    expect(emitted.files.get(path.join(dir, 'schema/api.graphql'))).not.toContain('join__');
    expect(emitted.files.get(path.join(dir, 'schema/people.graphql'))).toContain('type Person');
  });

  it('finds committed files that no longer match the code', async () => {
    const emitted = await emitSchemas(configFile, builders, printSubgraphSchema);
    for (const [file, text] of emitted.files) writeFileSync(file, text);
    expect(staleFiles(emitted)).toEqual([]);

    const changed = await emitSchemas(
      configFile,
      { ...builders, pets: subgraph('type Person @key(fields: "id") { id: ID! pets: [String!]! nickname: String } type Query { pet: String }') },
      printSubgraphSchema,
    );
    expect(staleFiles(changed).map((file) => path.basename(file)).sort()).toEqual(['api.graphql', 'pets.graphql', 'supergraph.graphql']);
  });

  it('fails with the subgraphs named when they conflict', async () => {
    const conflicting = { ...builders, pets: subgraph('type Person @key(fields: "id") { id: ID! name: Int! } type Query { pet: String }') };
    const failure = emitSchemas(configFile, conflicting, printSubgraphSchema);
    await expect(failure).rejects.toThrow(CompositionError);
    await expect(emitSchemas(configFile, conflicting, printSubgraphSchema)).rejects.toThrow(/"people".*"pets"|"pets".*"people"/s);
  });

  it('names a subgraph whose schema cannot be built', async () => {
    const broken = { ...builders, pets: async (): Promise<GraphQLSchema> => { throw new Error('no resolvers'); } };
    await expect(emitSchemas(configFile, broken, printSubgraphSchema)).rejects.toThrow('[pets] schema build failed: no resolvers');
  });
});
