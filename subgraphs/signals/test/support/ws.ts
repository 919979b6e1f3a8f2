import { EventEmitter } from 'node:events';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';

/** Every wait is bounded: a missing message fails the test instead of hanging it. */
export const WAIT_MS = 15_000;

export type Result = FormattedExecutionResult<Record<string, any>, unknown>;

/** One subscription over the real graphql-ws client, recording what arrives. */
export interface Recorded {
  results: Result[];
  outcome: { completed: true } | { error: unknown } | undefined;
  /** Resolves once `check` holds for what arrived; rejects if the subscription ends first or nothing comes in time. */
  until(check: (results: Result[]) => boolean, what: string): Promise<Result[]>;
  /** Resolves once the subscription completed or failed. */
  ended(): Promise<{ completed: true } | { error: unknown }>;
  unsubscribe(): void;
}

function waitFor(changes: EventEmitter, check: () => boolean, what: () => string): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      changes.off('change', listener);
      reject(new Error(`${what()} within ${WAIT_MS} ms`));
    }, WAIT_MS);
    const listener = () => {
      if (!check()) return;
      clearTimeout(timer);
      changes.off('change', listener);
      resolve();
    };
    changes.on('change', listener);
  });
}

export function wsClient(url: string, token?: string): Client {
  return createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    connectionParams: token ? { authorization: `Bearer ${token}` } : undefined,
  });
}

export function record(client: Client, query: string, variables?: Record<string, unknown>): Recorded {
  const changes = new EventEmitter();
  const recorded: Recorded = {
    results: [],
    outcome: undefined,
    async until(check, what) {
      await waitFor(
        changes,
        () => check(recorded.results) || recorded.outcome !== undefined,
        () => `${what}: got ${JSON.stringify(recorded.results)}`,
      );
      if (!check(recorded.results)) throw new Error(`${what}: the subscription ended (${JSON.stringify(recorded.outcome)}) after ${JSON.stringify(recorded.results)}`);
      return recorded.results;
    },
    async ended() {
      await waitFor(changes, () => recorded.outcome !== undefined, () => 'expected the subscription to end');
      return recorded.outcome!;
    },
    unsubscribe: () => undefined,
  };
  recorded.unsubscribe = client.subscribe<Record<string, any>>(
    { query, variables },
    {
      next(result) {
        recorded.results.push(result);
        changes.emit('change');
      },
      error(error) {
        recorded.outcome = { error };
        changes.emit('change');
      },
      complete() {
        recorded.outcome ??= { completed: true };
        changes.emit('change');
      },
    },
  );
  return recorded;
}
