import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../agent/config/config.js';

/** The ConfigError that loading `env` must raise; fails the spec when it loads or throws anything else. */
export function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}
