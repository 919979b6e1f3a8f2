import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type ParseOptions,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import type { RouterPlugin } from './types';

/**
 * What one operation may ask for (Apollo Router's `limits`, Hive Gateway's armor): a document is
 * refused before planning when it is too long, too deep or too wide, so a crafted query cannot
 * make the router and the subgraphs do unbounded work.
 */
export interface OperationLimits {
  /** Lexical tokens in the document; the parser stops past it. */
  maxTokens: number;
  /**
   * Nesting of selection sets, fragments expanded (`{ a { b } }` is 2). Not applied to
   * introspection (root fields `__schema`, `__type`), whose `ofType` chain is deep by design and
   * which production turns off.
   */
  maxDepth: number;
  /** Aliased fields in the document. */
  maxAliases: number;
  /** Fields selected at the root of an operation, fragments expanded. */
  maxRootFields: number;
  /** Directives used in the document. */
  maxDirectives: number;
}

const refuse = (context: ValidationContext, limit: keyof OperationLimits, value: number, max: number, what: string): void =>
  context.reportError(new GraphQLError(`${what} ${value} exceeds the limit of ${max}`, { extensions: { limit, value, max } }));

const isIntrospection = (set: SelectionSetNode): boolean =>
  set.selections.every((selection) => selection.kind === Kind.FIELD && selection.name.value.startsWith('__'));

/** Depth and root width of every operation, fragments expanded once per path (a fragment cycle is left to the spec's own rule). */
function shapeRule(limits: OperationLimits): ValidationRule {
  return (context) => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    const depthOf = (set: SelectionSetNode, visiting: Set<string>): number => {
      let deepest = 0;
      for (const selection of set.selections) {
        if (selection.kind === Kind.FIELD) {
          deepest = Math.max(deepest, 1 + (selection.selectionSet ? depthOf(selection.selectionSet, visiting) : 0));
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          deepest = Math.max(deepest, depthOf(selection.selectionSet, visiting));
        } else {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          if (!fragment || visiting.has(name)) continue;
          visiting.add(name);
          deepest = Math.max(deepest, depthOf(fragment.selectionSet, visiting));
          visiting.delete(name);
        }
        // Far past the limit already: no need to walk the rest of a crafted document.
        if (deepest > limits.maxDepth) return deepest;
      }
      return deepest;
    };
    const rootFields = (set: SelectionSetNode, visiting: Set<string>): number => {
      let count = 0;
      for (const selection of set.selections) {
        if (selection.kind === Kind.FIELD) count += 1;
        else if (selection.kind === Kind.INLINE_FRAGMENT) count += rootFields(selection.selectionSet, visiting);
        else {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          if (!fragment || visiting.has(name)) continue;
          visiting.add(name);
          count += rootFields(fragment.selectionSet, visiting);
          visiting.delete(name);
        }
      }
      return count;
    };
    return {
      OperationDefinition(operation) {
        const depth = isIntrospection(operation.selectionSet) ? 0 : depthOf(operation.selectionSet, new Set());
        if (depth > limits.maxDepth) refuse(context, 'maxDepth', depth, limits.maxDepth, 'Query depth');
        const width = rootFields(operation.selectionSet, new Set());
        if (width > limits.maxRootFields) refuse(context, 'maxRootFields', width, limits.maxRootFields, 'Root fields');
      },
    } satisfies ASTVisitor;
  };
}

/** Aliases and directives, counted over the whole document. */
function countRule(limits: OperationLimits): ValidationRule {
  return (context) => {
    let aliases = 0;
    let directives = 0;
    return {
      Field(field) {
        if (field.alias) aliases += 1;
      },
      Directive() {
        directives += 1;
      },
      Document: {
        leave() {
          if (aliases > limits.maxAliases) refuse(context, 'maxAliases', aliases, limits.maxAliases, 'Aliases');
          if (directives > limits.maxDirectives) refuse(context, 'maxDirectives', directives, limits.maxDirectives, 'Directives');
        },
      },
    } satisfies ASTVisitor;
  };
}

/**
 * The limits as the parser's options and validation rules, for every operation the router runs
 * (HTTP, and graphql-ws). Validation runs once per distinct document: Apollo Server caches
 * validated documents, so a query the apps send over and over is measured once.
 */
export function operationLimitsPlugin(limits: OperationLimits): RouterPlugin {
  return {
    name: 'operation-limits',
    parseOptions: { maxTokens: limits.maxTokens } satisfies ParseOptions,
    validationRules: [shapeRule(limits), countRule(limits)],
  };
}
