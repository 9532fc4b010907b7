// Pure rules of webhook delivery: which URLs are usable, which answers are worth retrying, and
// keeping the URL (a credential: Slack's is the path) out of every message that could reach the
// workflow history or a log.

/** Why a resolved value cannot be a webhook URL, without repeating the value; undefined when it can. */
export function webhookUrlProblem(value: string): string | undefined {
  if (value === '') return 'is empty';
  if (!URL.canParse(value)) return 'does not hold a URL';
  const { protocol } = new URL(value);
  if (protocol !== 'https:' && protocol !== 'http:') return 'does not hold an http:// or https:// URL';
  return undefined;
}

export type Delivery = 'delivered' | 'retry' | 'rejected';

/**
 * 2xx delivered. 408, 429 and 5xx are the receiver's passing trouble: retry. Any other 4xx means
 * this request will never be accepted (revoked hook, bad payload). 3xx too: a webhook that
 * redirects is misconfigured, and following it would send the message somewhere unchecked.
 */
export function classifyResponse(status: number): Delivery {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'rejected';
}

/** A server's Retry-After (seconds or HTTP date) in milliseconds, bounded; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number, maxMs = 30_000): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now;
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  return Math.min(Math.max(ms, 1000), maxMs);
}

const REDACTED = '<redacted>';

/** Replaces the URL, and the parts of it that carry the secret, wherever they occur in the text. */
export function redactUrl(text: string, url: string): string {
  const secrets = new Set([url]);
  if (URL.canParse(url)) {
    const parsed = new URL(url);
    secrets.add(parsed.href);
    const rest = `${parsed.pathname}${parsed.search}`;
    if (rest.length > 1) secrets.add(rest);
    if (parsed.pathname.length > 1) secrets.add(parsed.pathname);
    if (parsed.search.length > 1) secrets.add(parsed.search);
    for (const secret of [...secrets]) {
      try {
        secrets.add(decodeURIComponent(secret));
      } catch {
        // not percent-encoded: nothing more to hide
      }
    }
  }
  // Longest first, so a whole URL is replaced before its path is.
  return [...secrets]
    .filter((secret) => secret !== '')
    .sort((a, b) => b.length - a.length)
    .reduce((out, secret) => out.split(secret).join(REDACTED), text);
}

/** What went wrong with a request that got no answer, from the error's kind only (its message may quote the URL). */
export function describeRequestError(error: unknown): string {
  // Duck-typed: fetch's errors may come from another realm (a test's VM context), failing instanceof.
  if (!error || typeof error !== 'object') return 'request failed';
  const { name, cause } = error as { name?: unknown; cause?: unknown };
  if (name === 'TimeoutError') return 'no answer in time';
  const code = cause && typeof cause === 'object' && 'code' in cause ? String((cause as { code: unknown }).code) : undefined;
  if (code) return `request failed (${code})`;
  return typeof name === 'string' ? `request failed (${name})` : 'request failed';
}
