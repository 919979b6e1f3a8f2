import { ConfigError, readEnv, readTracesConfig } from '../src/config';

const read = (env: Record<string, string>) => {
  const reader = readEnv(env);
  const config = readTracesConfig(reader);
  reader.done();
  return config;
};

describe('traces configuration (OpenTelemetry\'s variables)', () => {
  it('exports nowhere unless an endpoint is set, and samples every new trace by default', () => {
    expect(read({})).toEqual({ endpoint: undefined, sampleRatio: 1, headers: {} });
  });

  it('appends /v1/traces to the base endpoint; the traces endpoint wins; headers are decoded', () => {
    expect(read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).endpoint).toBe('http://collector:4318/v1/traces');
    expect(read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example.com/otlp' }).endpoint).toBe('https://traces.example.com/otlp');
    expect(read({ OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=abc%3D%3D, x-team = ops' }).headers).toEqual({ 'x-api-key': 'abc==', 'x-team': 'ops' });
    expect(read({ OTEL_TRACES_SAMPLER_ARG: '0.25' }).sampleRatio).toBe(0.25);
  });

  it('names every invalid variable', () => {
    let problems: string[] = [];
    try {
      read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url', OTEL_TRACES_SAMPLER_ARG: '2' });
    } catch (error) {
      if (error instanceof ConfigError) problems = error.problems;
    }
    expect(problems).toEqual(['OTEL_EXPORTER_OTLP_ENDPOINT must be a URL, got "not a url"', 'OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, got "2"']);
  });

  it('refuses a header value that is not URL-encoded with a config error, not a crash, and keeps the secret out of it', () => {
    expect(() => read({ OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=50%off-secret' })).toThrow(
      expect.objectContaining({ problems: ['OTEL_EXPORTER_OTLP_HEADERS must hold URL-encoded values, got "x-api-key=…"'] }),
    );
  });
});
