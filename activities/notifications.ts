// Notifier adapter: posts Slack-compatible incoming-webhook messages with Node's fetch.
//
// A webhook URL is a credential, so it exists only inside these functions: the plan names an
// environment variable or a file on the worker, the URL is read at call time (a rotated Secret is
// picked up on the next message), and nothing that leaves here (result, failure message, log line)
// contains it: fetch's own errors can quote the URL, so they are described by their kind only and
// every message is passed through redactUrl as well.

import { readFile, stat } from 'node:fs/promises';
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { NotificationTarget, SecretSource } from '../plan/types.js';
import type { NotificationNotice, NotificationTargetProblem, UpgradeActivities } from './contract.js';
import { classifyResponse, describeRequestError, redactUrl, retryAfterMs, webhookUrlProblem } from './notification-delivery.js';
import { slackMessage } from './notification-message.js';

export const NotificationErrors = {
  /** The URL could not be read (variable unset, file missing, not a URL). Retrying cannot help. */
  TargetUnresolved: 'NotificationTargetUnresolved',
  /** The receiver refused the message for good (4xx other than 408/429, or a redirect). */
  Rejected: 'NotificationRejected',
  /** No answer, or a 408/429/5xx: worth another attempt. */
  Undelivered: 'NotificationUndelivered',
} as const;

export interface NotificationOptions {
  /** Where `urlFrom.env` is looked up; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** One request's deadline. */
  requestTimeoutMs?: number;
}

/** A mounted Secret holding one URL is tiny; anything bigger is the wrong file. */
const MAX_URL_FILE_BYTES = 8192;
/** Enough of a refusal's body to tell why (Slack answers e.g. `invalid_token`, `no_service`). */
const MAX_BODY_CHARS = 200;

type Resolved = { url: string } | { problem: string };

export async function resolveWebhookUrl(source: SecretSource, env: NodeJS.ProcessEnv): Promise<Resolved> {
  if ('env' in source) {
    const value = env[source.env];
    if (value === undefined) return { problem: `environment variable ${source.env} is not set on the worker` };
    const problem = webhookUrlProblem(value.trim());
    return problem ? { problem: `environment variable ${source.env} ${problem}` } : { url: value.trim() };
  }
  let text: string;
  try {
    const info = await stat(source.file);
    if (!info.isFile()) return { problem: `${source.file} on the worker is not a file` };
    if (info.size > MAX_URL_FILE_BYTES) return { problem: `file ${source.file} is ${info.size} bytes, too large to hold a URL` };
    text = await readFile(source.file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { problem: `file ${source.file} does not exist on the worker` };
    if (code === 'EACCES') return { problem: `file ${source.file} is not readable by the worker` };
    return { problem: `file ${source.file} cannot be read (${code ?? 'error'})` };
  }
  const problem = webhookUrlProblem(text.trim());
  return problem ? { problem: `file ${source.file} ${problem}` } : { url: text.trim() };
}

export function createNotificationActivities(options: NotificationOptions = {}): Pick<UpgradeActivities, 'checkNotificationTargets' | 'sendNotification'> {
  const env = options.env ?? process.env;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;

  async function checkNotificationTargets({ targets }: { targets: NotificationTarget[] }): Promise<NotificationTargetProblem[]> {
    const problems: NotificationTargetProblem[] = [];
    for (const target of targets) {
      const resolved = await resolveWebhookUrl(target.webhook.urlFrom, env);
      if ('problem' in resolved) problems.push({ target: target.name, problem: resolved.problem });
    }
    return problems;
  }

  async function sendNotification({ target, notice }: { target: NotificationTarget; notice: NotificationNotice }): Promise<{ status: number }> {
    const resolved = await resolveWebhookUrl(target.webhook.urlFrom, env);
    if ('problem' in resolved) {
      throw ApplicationFailure.nonRetryable(`notification target ${target.name}: ${resolved.problem}`, NotificationErrors.TargetUnresolved);
    }
    const { url } = resolved;
    const fail = (message: string, type: string, extra: { nonRetryable?: boolean; nextRetryDelay?: number } = {}) =>
      // No `cause`: the original error would carry fetch's message (with the URL) into the history.
      ApplicationFailure.create({ message: redactUrl(`notification to ${target.name} (${notice.event}): ${message}`, url), type, ...extra });

    const { cancellationSignal } = Context.current();
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(slackMessage(notice)),
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(requestTimeoutMs), cancellationSignal]),
      });
    } catch (error) {
      if (cancellationSignal.aborted) throw cancellationSignal.reason;
      throw fail(describeRequestError(error), NotificationErrors.Undelivered);
    }
    const body = await bodyStart(response, MAX_BODY_CHARS);
    const verdict = classifyResponse(response.status);
    if (verdict === 'delivered') {
      log.info('notification delivered', { target: target.name, event: notice.event, status: response.status });
      return { status: response.status };
    }
    const answer = `the webhook answered ${response.status}${body.trim() ? `: ${body.trim()}` : ''}`;
    if (verdict === 'rejected') {
      const why = response.status < 400 ? `${answer} (webhooks must not redirect)` : answer;
      throw fail(why, NotificationErrors.Rejected, { nonRetryable: true });
    }
    const delay = retryAfterMs(response.headers.get('retry-after'), Date.now());
    throw fail(answer, NotificationErrors.Undelivered, delay === undefined ? {} : { nextRetryDelay: delay });
  }

  return { checkNotificationTargets, sendNotification };
}

/** The first `max` characters of the answer; the rest is not downloaded (a receiver may answer with anything). */
async function bodyStart(response: Response, max: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < max) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // A body cut short still leaves the status to judge by.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text.slice(0, max);
}
