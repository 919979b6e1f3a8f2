/** Typed configuration read once from the environment; every problem is reported together. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export interface EnvReader {
  string(name: string, fallback?: string): string;
  optional(name: string): string | undefined;
  int(name: string, fallback: number, range?: { min?: number; max?: number }): number;
  bool(name: string, fallback: boolean): boolean;
  oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T;
  url(name: string, fallback?: string): string;
  /** A URL, or undefined when unset. */
  optionalUrl(name: string): string | undefined;
  /** A number from 0 to 1. */
  ratio(name: string, fallback: number): number;
  /** `key=value` pairs separated by commas, values URL-encoded (OpenTelemetry's headers); {} when unset. */
  pairs(name: string): Record<string, string>;
  /** Throws one ConfigError naming every invalid variable. */
  done(): void;
}

export function readEnv(env: Env = process.env): EnvReader {
  const problems: string[] = [];
  const raw = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const required = (name: string, fallback?: string): string => {
    const value = raw(name) ?? fallback;
    if (value === undefined) {
      problems.push(`${name} is required`);
      return '';
    }
    return value;
  };
  return {
    string: required,
    optional: raw,
    int(name, fallback, range = {}) {
      const text = raw(name);
      if (text === undefined) return fallback;
      const value = Number(text);
      if (!Number.isInteger(value)) {
        problems.push(`${name} must be an integer, got "${text}"`);
        return fallback;
      }
      if ((range.min !== undefined && value < range.min) || (range.max !== undefined && value > range.max)) {
        problems.push(`${name} must be between ${range.min ?? '-∞'} and ${range.max ?? '∞'}, got ${value}`);
      }
      return value;
    },
    bool(name, fallback) {
      const text = raw(name)?.toLowerCase();
      if (text === undefined) return fallback;
      if (['1', 'true', 'yes', 'on'].includes(text)) return true;
      if (['0', 'false', 'no', 'off'].includes(text)) return false;
      problems.push(`${name} must be true or false, got "${text}"`);
      return fallback;
    },
    oneOf(name, values, fallback) {
      const text = raw(name);
      if (text === undefined) return fallback;
      if (!(values as readonly string[]).includes(text)) {
        problems.push(`${name} must be one of ${values.join(', ')}, got "${text}"`);
        return fallback;
      }
      return text as (typeof values)[number];
    },
    url(name, fallback) {
      const value = required(name, fallback);
      if (value && !URL.canParse(value)) problems.push(`${name} must be a URL, got "${value}"`);
      return value;
    },
    optionalUrl(name) {
      const value = raw(name);
      if (value !== undefined && !URL.canParse(value)) problems.push(`${name} must be a URL, got "${value}"`);
      return value;
    },
    ratio(name, fallback) {
      const text = raw(name);
      if (text === undefined) return fallback;
      const value = Number(text);
      if (!Number.isFinite(value) || value < 0 || value > 1) {
        problems.push(`${name} must be a number from 0 to 1, got "${text}"`);
        return fallback;
      }
      return value;
    },
    pairs(name) {
      const pairs: Record<string, string> = {};
      for (const pair of (raw(name) ?? '').split(',')) {
        const at = pair.indexOf('=');
        if (at <= 0) continue;
        try {
          pairs[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim());
        } catch {
          problems.push(`${name} must hold URL-encoded values, got "${pair.slice(0, at).trim()}=…"`);
        }
      }
      return pairs;
    },
    done() {
      if (problems.length > 0) throw new ConfigError(problems);
    },
  };
}

export interface SubgraphConfig {
  name: string;
  port: number;
  host: string;
  env: 'development' | 'test' | 'production';
  logLevel: string;
  databaseUrl: string;
  redisUrl: string;
  /** Where the users subgraph publishes its signing keys. */
  jwksUrl: string;
  /** Run the outbox relay and event consumer in this process. */
  eventsEnabled: boolean;
  /** BullMQ key prefix of the event queues (tests isolate themselves with their own). */
  eventsPrefix: string | undefined;
  /** Events a consumer processes at once. */
  eventsConcurrency: number;
  /** Events a consumer applies in one transaction, where its handlers allow (EventConsumerOptions.batchSize). */
  eventsBatchSize: number;
  /** How often the outbox relay looks for rows besides the commits that wake it (OutboxRelayOptions.pollIntervalMs). */
  eventsPollMs: number;
  traces: TracesConfig;
}

/** Where spans go (OpenTelemetry's own variables), and how many new traces are recorded. */
export interface TracesConfig {
  /** OTLP/HTTP traces URL; unset: no span is recorded (trace ids still reach the logs). */
  endpoint: string | undefined;
  /** Share of new traces recorded, 0 to 1; a caller's sampled flag decides for its own trace. */
  sampleRatio: number;
  /** Sent with every export (a hosted collector's key), from `OTEL_EXPORTER_OTLP_HEADERS` (`k=v,k2=v2`, values URL-encoded). */
  headers: Record<string, string>;
}

export function readTracesConfig(reader: EnvReader): TracesConfig {
  const base = reader.optionalUrl('OTEL_EXPORTER_OTLP_ENDPOINT');
  const endpoint = reader.optionalUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined);
  return { endpoint, sampleRatio: reader.ratio('OTEL_TRACES_SAMPLER_ARG', 1), headers: reader.pairs('OTEL_EXPORTER_OTLP_HEADERS') };
}

/** The settings every subgraph shares; a subgraph extends it with its own. */
export function readSubgraphConfig(name: string, defaultPort: number, reader: EnvReader): SubgraphConfig {
  return {
    name,
    port: reader.int('PORT', defaultPort, { min: 0, max: 65535 }),
    host: reader.string('HOST', '0.0.0.0'),
    env: reader.oneOf('NODE_ENV', ['development', 'test', 'production'] as const, 'development'),
    logLevel: reader.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    databaseUrl: reader.url('DATABASE_URL', `postgres://postgres@127.0.0.1:5432/mercado_${name}`),
    redisUrl: reader.url('REDIS_URL', 'redis://127.0.0.1:6379'),
    jwksUrl: reader.url('JWKS_URL', 'http://127.0.0.1:4001/.well-known/jwks.json'),
    eventsEnabled: reader.bool('EVENTS_ENABLED', true),
    eventsPrefix: reader.optional('EVENTS_PREFIX'),
    eventsConcurrency: reader.int('EVENTS_CONCURRENCY', 10, { min: 1, max: 100 }),
    eventsBatchSize: reader.int('EVENTS_BATCH_SIZE', 50, { min: 1, max: 100 }),
    eventsPollMs: reader.int('EVENTS_POLL_MS', 250, { min: 10, max: 600_000 }),
    traces: readTracesConfig(reader),
  };
}
