// A local incoming-webhook receiver on 127.0.0.1 (node:http): records every request and answers as
// the test scripts it (a status, a body, or holding the request until the test releases it).
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body (undefined when it is not JSON). */
  json: any;
  /** 1-based count of requests with this path and exact body so far: the delivery attempt. */
  attempt: number;
}

export interface Answer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** Resolve it to let the answer go; until then the request hangs. */
  hold?: Promise<void>;
}

export type Responder = (request: ReceivedRequest) => Answer;

export interface WebhookReceiver {
  requests: ReceivedRequest[];
  /** A webhook URL on this receiver whose path carries a fresh secret token. */
  newUrl(): { url: string; token: string };
  respond(responder: Responder): void;
  /** Requests currently held open. */
  held(): number;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const requests: ReceivedRequest[] = [];
  const seen = new Map<string, number>();
  let responder: Responder = () => ({ status: 200, body: 'ok' });
  let holding = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      const key = `${req.url} ${text}`;
      const attempt = (seen.get(key) ?? 0) + 1;
      seen.set(key, attempt);
      const request: ReceivedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, json, attempt };
      requests.push(request);
      const answer = responder(request);
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
        res.end(answer.body ?? '');
      };
      if (!answer.hold) return send();
      holding++;
      void answer.hold.then(() => {
        holding--;
        send();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    requests,
    newUrl() {
      const token = `secret-${randomBytes(12).toString('hex')}`;
      return { url: `http://127.0.0.1:${port}/services/T000/B000/${token}`, token };
    },
    respond(next) {
      responder = next;
    },
    held: () => holding,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
