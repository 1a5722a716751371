// A real HTTP server on 127.0.0.1 that records every request, for tests of webhook notifications.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The body exactly as it arrived. */
  body: string;
}

export interface StartedWebhookReceiver {
  /** `http://127.0.0.1:{port}{path}`. */
  url(path: string): string;
  requests: ReceivedRequest[];
  /** The status the next requests are answered with (default 200), and an optional body. */
  answer(status: number, body?: string): void;
  stop(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<StartedWebhookReceiver> {
  const requests: ReceivedRequest[] = [];
  let reply = { status: 200, body: 'ok' };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({ method: request.method ?? '', path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(reply.status, { 'content-type': 'text/plain' }).end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    requests,
    answer(status, body = '') {
      reply = { status, body };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
