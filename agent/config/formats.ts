/**
 * Strict convict formats. Convict's built-in `nat`/`int` use parseInt, which accepts "30s" as 30; an operator's
 * typo must instead stop the agent with a line naming the variable. Each validator reads its bounds from the
 * schema node (`min`, `max`), so one format serves every interval.
 */
import { isIP } from 'node:net';
import convict from 'convict';
import { sanitizeImageRef } from './image-ref.js';
import { unbracketed } from '../../domain/address.js';

interface Bounded {
  min?: number;
  max?: number;
}

function numberIn(value: unknown, node: Bounded, integer: boolean): void {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new Error(integer ? 'must be a whole number' : 'must be a number');
  if (integer && !Number.isInteger(value)) throw new Error('must be a whole number');
  if (node.min !== undefined && value < node.min) throw new Error(`must be at least ${node.min}`);
  if (node.max !== undefined && value > node.max) throw new Error(`must be at most ${node.max}`);
}

const strictNumber =
  (pattern: RegExp) =>
  (raw: string): number =>
    pattern.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;

export const LOG_LEVEL_ALIASES: Readonly<Record<string, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'>> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  error: 'error',
  fatal: 'fatal',
  // Python logging names, so an .env written for the original agent keeps working.
  warning: 'warn',
  critical: 'fatal',
};

let registered = false;

export function registerFormats(): void {
  if (registered) return;
  registered = true;
  convict.addFormats({
    'strict-int': {
      coerce: strictNumber(/^[+-]?\d+$/),
      validate: (v: unknown, node: object) => {
        numberIn(v, node, true);
      },
    },
    'strict-number': {
      coerce: strictNumber(/^[+-]?(\d+(\.\d*)?|\.\d+)$/),
      validate: (v: unknown, node: object) => {
        numberIn(v, node, false);
      },
    },
    'strict-boolean': {
      coerce: (raw: string) => {
        const v = raw.trim().toLowerCase();
        if (['true', '1', 'yes', 'on'].includes(v)) return true;
        if (['false', '0', 'no', 'off'].includes(v)) return false;
        return raw;
      },
      validate: (v: unknown) => {
        if (typeof v !== 'boolean') throw new Error('must be true or false');
      },
    },
    'required-string': {
      validate: (v: unknown) => {
        if (typeof v !== 'string' || v.trim() === '') throw new Error('is required');
      },
    },
    'master-url': {
      validate: (v: unknown) => {
        if (typeof v !== 'string' || v.trim() === '') throw new Error('is required');
        let url: URL;
        try {
          url = new URL(v.trim());
        } catch {
          throw new Error('is not a valid URL');
        }
        if (url.protocol !== 'http:' && url.protocol !== 'https:')
          throw new Error('must start with http:// or https://');
        // A bare trailing '?' or '#' leaves search and hash empty but would still end up in every request URL.
        if (url.search !== '' || url.hash !== '' || /[?#]/.test(v))
          throw new Error('must not contain a query or fragment');
        // The agent authenticates with its key (and Access headers); a password in the URL would be one more secret
        // sent on every request and printed wherever the URL is.
        if (url.username !== '' || url.password !== '') throw new Error('must not contain user:password@ credentials');
      },
    },
    'docker-host': {
      validate: (v: unknown) => {
        // As docker-py read it: tcp://host defaults to port 2375, and an IPv6 literal goes in brackets.
        const bad = (): never => {
          throw new Error('must be unix:///path/to/docker.sock or tcp://host[:port]');
        };
        if (
          typeof v !== 'string' ||
          !/^(unix:\/\/\/.+|(tcp|https?):\/\/([^/:[\]]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?\/?)$/.test(v.trim())
        )
          bad();
        // What the client will do with it must work too: a port over 65535 or a malformed IPv6 literal.
        if (typeof v === 'string' && !v.trim().startsWith('unix:')) {
          try {
            new URL(v.trim().replace(/^tcp:/, 'http:'));
          } catch {
            bad();
          }
        }
      },
    },
    'image-ref': {
      coerce: (raw: string) => sanitizeImageRef(raw) ?? raw,
      validate: (v: unknown) => {
        if (typeof v !== 'string' || sanitizeImageRef(v) !== v) {
          throw new Error('is not a valid image reference (expected repo[:tag] or repo@sha256:<64 hex>)');
        }
      },
    },
    'network-name': {
      validate: (v: unknown) => {
        if (typeof v !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/.test(v))
          throw new Error('is not a valid Docker network name');
      },
    },
    'docker-mode': {
      coerce: (raw: string) => raw.trim().toLowerCase(),
      validate: (v: unknown) => {
        if (v !== 'auto' && v !== 'standalone' && v !== 'swarm') throw new Error('must be auto, standalone or swarm');
      },
    },
    'log-level': {
      coerce: (raw: string) => LOG_LEVEL_ALIASES[raw.trim().toLowerCase()] ?? raw,
      validate: (v: unknown) => {
        if (typeof v !== 'string' || !Object.values(LOG_LEVEL_ALIASES).includes(v as never)) {
          throw new Error('must be one of trace, debug, info, warn, error, fatal (any case)');
        }
      },
    },
    'time-zone': {
      // The agent logs in UTC whatever TZ says, so any value (an IANA name, a POSIX rule like CET-1CEST,M3.5.0,
      // M10.5.0/3, :/etc/localtime) is accepted as the original's runtime accepted it; only control characters are not.
      validate: (v: unknown) => {
        if (typeof v !== 'string' || hasControlCharacter(v)) throw new Error('must not contain control characters');
      },
    },
    'bind-address': {
      validate: (v: unknown) => {
        const a = typeof v === 'string' ? unbracketed(v.trim()) : '';
        if (
          isIP(a) === 0 &&
          !/^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(
            a,
          )
        ) {
          throw new Error('must be an IP address or a host name');
        }
      },
    },
    'absolute-path': {
      validate: (v: unknown) => {
        if (typeof v !== 'string' || !v.trim().startsWith('/')) throw new Error('must be an absolute path');
      },
    },
    'optional-absolute-path': {
      validate: (v: unknown) => {
        if (typeof v !== 'string' || (v.trim() !== '' && !v.trim().startsWith('/')))
          throw new Error('must be an absolute path');
      },
    },
    'chaos-targets': {
      validate: (v: unknown, node: object) => {
        const allowed = (node as { allowedNames?: readonly string[] }).allowedNames ?? [];
        if (typeof v !== 'string') throw new Error('must be a comma-separated list of actor names');
        for (const name of v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)) {
          if (!allowed.includes(name))
            throw new Error(`names an unknown actor (${name.slice(0, 40)}); known: ${allowed.join(', ')}`);
        }
      },
    },
    'optional-int': {
      validate: (v: unknown) => {
        if (typeof v !== 'string' || (v.trim() !== '' && !/^\d{1,10}$/.test(v.trim())))
          throw new Error('must be a whole number or empty');
      },
    },
    'optional-string': {
      validate: (v: unknown) => {
        if (typeof v !== 'string') throw new Error('must be a string');
      },
    },
  });
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 32 || code === 127) return true;
  }
  return false;
}
