import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/app/config.js';

describe('OTA_CORE_BUNDLE_URL_KEY', () => {
  it('is taken from the environment only', () => {
    const key = 'k'.repeat(32);
    expect(loadConfig([], { OTA_CORE_BUNDLE_URL_KEY: key }).bundleUrlKey).toBe(key);
    expect(loadConfig([], {}).bundleUrlKey).toBeUndefined();
    expect(() => loadConfig(['--bundle-url-key', key], {})).toThrow(ConfigError);
  });

  it('refuses a key shorter than 32 characters, naming the member', () => {
    expect(() => loadConfig([], { OTA_CORE_BUNDLE_URL_KEY: 'short' })).toThrow(/bundleUrlKey/);
  });
});
