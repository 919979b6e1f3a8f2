import { ConfigError } from '../../kit/src';
import { readAnalyticsConfig } from '../src/config';

describe('readAnalyticsConfig', () => {
  it('defaults to port 4009, the mercado_analytics database, events on and USD reports', () => {
    expect(readAnalyticsConfig({})).toMatchObject({
      name: 'analytics',
      port: 4009,
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/mercado_analytics',
      eventsEnabled: true,
      databasePoolSize: 10,
      reportDefaultCurrency: 'USD',
      reportMaxDays: 366,
      lowStockAlertsMaxPage: 100,
    });
  });

  it('reads its own variables', () => {
    const config = readAnalyticsConfig({ PORT: '4109', EVENTS_ENABLED: 'false', REPORT_DEFAULT_CURRENCY: 'eur', REPORT_MAX_DAYS: '31', LOW_STOCK_ALERTS_MAX_PAGE: '5' });
    expect(config).toMatchObject({ port: 4109, eventsEnabled: false, reportDefaultCurrency: 'EUR', reportMaxDays: 31, lowStockAlertsMaxPage: 5 });
  });

  it('reports every invalid variable at once', () => {
    let error: unknown;
    try {
      readAnalyticsConfig({ REPORT_DEFAULT_CURRENCY: 'dollars', REPORT_MAX_DAYS: '0', DATABASE_URL: 'not a url' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('REPORT_DEFAULT_CURRENCY');
    expect(problems).toContain('REPORT_MAX_DAYS');
    expect(problems).toContain('DATABASE_URL');
  });
});
