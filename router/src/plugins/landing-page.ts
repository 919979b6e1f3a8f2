import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import type { Logger } from 'pino';
import type { RouterContext, RouterPlugin } from './types';

export const GRAPHQL_PATH = '/graphql';

export interface LandingPagePluginOptions {
  enabled: boolean;
  log: Logger;
  /** A first operation shown in Sandbox. */
  document?: string;
}

/**
 * Points Sandbox at the router's `/graphql` and its graphql-ws endpoint on the same path, whichever
 * URL (`/`, `/graphql`, behind a proxy) served the page. Apollo Server's page uses
 * `window.location.href` as the endpoint and has no option for the subscription endpoint.
 */
function pointAtRouter(html: string, log: Logger): string {
  const endpointLine = 'var initialEndpoint = window.location.href;';
  const constructorArgs = /initialEndpoint,(\s*)\}/;
  if (!html.includes(endpointLine) || !constructorArgs.test(html)) {
    log.warn('landing page: unexpected Sandbox markup; the subscription endpoint is left at its default');
    return html;
  }
  return html
    .replace(
      endpointLine,
      `var initialEndpoint = window.location.origin + '${GRAPHQL_PATH}';\n  var initialSubscriptionEndpoint = initialEndpoint.replace(/^http/, 'ws');`,
    )
    .replace(constructorArgs, 'initialEndpoint,$1initialSubscriptionEndpoint,$1}');
}

/**
 * Development: Apollo Sandbox (embedded, endpoint not editable, subscriptions over
 * ws://…/graphql) on `GET /` and `GET /graphql` with `Accept: text/html`.
 * Production: no landing page (introspection is off by config as well).
 */
export function landingPagePlugin(options: LandingPagePluginOptions): RouterPlugin {
  if (!options.enabled) {
    return { name: 'landing-page', apollo: ApolloServerPluginLandingPageDisabled() as ApolloServerPlugin<RouterContext> };
  }
  const sandbox = ApolloServerPluginLandingPageLocalDefault({
    footer: false,
    ...(options.document ? { document: options.document } : {}),
    embed: {
      endpointIsEditable: false,
      runTelemetry: false,
      initialState: { pollForSchemaUpdates: true },
    },
  }) as ApolloServerPlugin<RouterContext>;
  let render: (() => Promise<string>) | undefined;

  return {
    name: 'landing-page',
    apollo: {
      async serverWillStart(service) {
        const listener = await sandbox.serverWillStart?.(service);
        const landingPage = listener && (await listener.renderLandingPage?.());
        if (!listener || !landingPage) return listener ?? undefined;
        const { html } = landingPage;
        // Apollo renders the page per request (a fresh CSP nonce each time).
        render = async () => pointAtRouter(typeof html === 'string' ? html : await html(), options.log);
        const page = { html: render };
        return { ...listener, renderLandingPage: async () => page };
      },
    },
    onRequest(exchange) {
      // `/graphql` is served by Apollo Server itself; `/` is ours.
      if (exchange.path !== '/' || exchange.method !== 'GET' || render === undefined) return false;
      if (!(exchange.req.headers.accept ?? '').includes('text/html')) return false;
      exchange.route = 'landing';
      return render().then((html) => {
        exchange.res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html) });
        exchange.res.end(html);
        return true;
      });
    },
  };
}
