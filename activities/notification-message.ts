// The chat message for a notice, as a Slack-compatible incoming webhook takes it: `text` for
// notifications and for receivers without Block Kit (Mattermost, Rocket.Chat, ...), `blocks` for
// Slack's layout. Pure, so the wording can change without touching the workflow or its history.

import type { NotificationEvent } from '../plan/types.js';
import type { NotificationNotice } from './contract.js';

export interface SlackText {
  type: 'mrkdwn';
  text: string;
}

export type SlackBlock =
  | { type: 'section'; text: SlackText }
  | { type: 'section'; fields: SlackText[] }
  | { type: 'context'; elements: SlackText[] };

export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

const HEADLINES: Record<NotificationEvent, { emoji: string; title: string }> = {
  started: { emoji: ':rocket:', title: 'Upgrade started' },
  'approval-needed': { emoji: ':raising_hand:', title: 'Approval needed' },
  paused: { emoji: ':double_vertical_bar:', title: 'Paused: a human must decide' },
  'wave-done': { emoji: ':white_check_mark:', title: 'Wave done' },
  'gate-failed': { emoji: ':x:', title: 'Gate failed' },
  'rolled-back': { emoji: ':leftwards_arrow_with_hook:', title: 'Rolled back' },
  aborted: { emoji: ':octagonal_sign:', title: 'Aborted' },
  failed: { emoji: ':rotating_light:', title: 'Upgrade failed' },
  finished: { emoji: ':tada:', title: 'Upgrade finished' },
};

// Slack refuses a section text over 3000 characters and a field over 2000; a long gate reason or
// rollback error list is cut rather than losing the whole message.
const MAX_SECTION = 2900;
const MAX_FIELD = 1900;
/** Slack shows at most 10 fields in a section. */
const MAX_FIELDS = 10;

export function headline(notice: Pick<NotificationNotice, 'event' | 'cluster'>): string {
  const { emoji, title } = HEADLINES[notice.event];
  return `${emoji} ${title} on ${notice.cluster}`;
}

export function slackMessage(notice: NotificationNotice): SlackMessage {
  const revisions = `${notice.sourceRevision ?? '(detecting)'} → ${notice.targetRevision}`;
  const facts = [
    { label: 'Revision', value: revisions, code: false },
    { label: 'Istio', value: notice.version, code: false },
    ...notice.facts.map((fact) => ({ code: false, ...fact })),
  ];
  const text = [
    `${headline(notice)}: ${notice.summary}`,
    ...facts.map((fact) => `${fact.label}: ${fact.value}`),
    `plan ${notice.plan}, workflow ${notice.workflowId}`,
  ].join('\n');
  return {
    text,
    blocks: [
      { type: 'section', text: mrkdwn(cut(`*${escape(headline(notice))}*\n${escape(notice.summary)}`, MAX_SECTION)) },
      {
        type: 'section',
        fields: facts.slice(0, MAX_FIELDS).map((fact) => {
          const value = fact.code ? `\`${fact.value}\`` : fact.value;
          return mrkdwn(cut(`*${escape(fact.label)}*\n${escape(value)}`, MAX_FIELD));
        }),
      },
      { type: 'context', elements: [mrkdwn(escape(`plan ${notice.plan} · workflow ${notice.workflowId}`))] },
    ],
  };
}

function mrkdwn(text: string): SlackText {
  return { type: 'mrkdwn', text };
}

/** Slack reads &, < and > as markup (links, mentions); these are plain text. */
function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
