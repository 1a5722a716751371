import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { PROMETHEUS_CONTENT_TYPE } from './metrics.ts';

/**
 * A node:http request listener serving `GET /metrics` (and HEAD) with the text `getText` renders;
 * 404 elsewhere, 405 for other methods. A render that fails answers 500 without its message (it
 * could name a path or host) and is handed to `onError` for the log.
 */
export function metricsHandler(getText: () => Promise<string>, onError: (error: unknown) => void = () => {}): RequestListener {
  return (request: IncomingMessage, response: ServerResponse) => {
    const { pathname } = new URL(request.url ?? '/', 'http://localhost');
    if (pathname !== '/metrics') return plain(response, 404, 'Not found: metrics are at /metrics\n');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return plain(response, 405, 'Method not allowed: use GET\n');
    }
    getText().then(
      (text) => {
        response.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text) });
        // node:http sends no body for HEAD by itself.
        response.end(text);
      },
      (error: unknown) => {
        onError(error);
        plain(response, 500, 'Metrics unavailable: see the service log\n');
      },
    );
  };
}

function plain(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  response.end(body);
}
