import { ConfigError, processRole, roleOptions } from '../src';

describe('process role from the command line', () => {
  it('runs API and workers together unless told otherwise', () => {
    expect(processRole([])).toBe('all');
    expect(roleOptions('all')).toEqual({ api: true });
  });

  it('splits them with --api-only and --workers-only', () => {
    expect(processRole(['--api-only'])).toBe('api');
    expect(roleOptions('api')).toEqual({ api: true, workers: false });
    expect(processRole(['--workers-only'])).toBe('workers');
    expect(roleOptions('workers')).toEqual({ api: false });
  });

  it('refuses unknown arguments and both flags at once', () => {
    expect(() => processRole(['--worker-only'])).toThrow(ConfigError);
    expect(() => processRole(['--worker-only'])).toThrow(/unknown argument --worker-only/);
    expect(() => processRole(['--api-only', '--workers-only'])).toThrow(/not --api-only --workers-only/);
  });
});
