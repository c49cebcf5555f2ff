import { expect } from 'chai';
import { sanitizeImageRef } from '../../../agent/config/image-ref.js';

describe('agent/config/image-ref', () => {
  const cases: [string, string | undefined][] = [
    ['cloudflare/cloudflared:2025.9.0', 'cloudflare/cloudflared:2025.9.0'],
    ['  cloudflare/cloudflared:latest   extra words', 'cloudflare/cloudflared:latest'],
    ['cloudflare/cloudflared:2025.9.0#pinned', 'cloudflare/cloudflared:2025.9.0'],
    ['cloudflared', 'cloudflared'],
    ['registry.local:5000/team/cloudflared:1', 'registry.local:5000/team/cloudflared:1'],
    [`cloudflare/cloudflared@sha256:${'AB'.repeat(32)}`, `cloudflare/cloudflared@sha256:${'ab'.repeat(32)}`],
    [`cloudflare/cloudflared@sha256:${'a'.repeat(63)}`, undefined],
    ['', undefined],
    ['# only a comment', undefined],
    ['UPPER/case', undefined],
    ['repo:tag:extra', undefined],
    ['repo:', undefined],
  ];
  for (const [raw, want] of cases) {
    it(`${JSON.stringify(raw)} → ${String(want)}`, () => {
      expect(sanitizeImageRef(raw)).to.equal(want);
    });
  }
});
