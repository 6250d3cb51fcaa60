/**
 * The API server's own defences against slow or numerous clients: Node's header and request
 * timeouts, checked every second (Node's default is every 30 s), short keep-alive, and a cap
 * on the connections that have not sent a complete request yet (a slow client's, an idle
 * keep-alive one). Past the cap the oldest of those is closed, not the new one: a flood of
 * slow clients cannot lock out /health or a real client, and never uses up the file descriptors.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionLimits {
  maxConnections: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

export const DEFAULT_LIMITS: ConnectionLimits = { maxConnections: 1024, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5000 };

export function limitedServer(handler: RequestListener, limits: ConnectionLimits): Server {
  const server = createServer(
    {
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: 1000,
    },
    handler,
  );
  // sockets without a request in progress, oldest first (a Map keeps insertion order)
  const waiting = new Map<Socket, true>();
  server.on('connection', (socket: Socket) => {
    waiting.set(socket, true);
    socket.once('close', () => waiting.delete(socket));
    if (waiting.size > limits.maxConnections) {
      const [oldest] = waiting.keys();
      waiting.delete(oldest!);
      oldest!.destroy();
    }
  });
  server.on('request', (req, res) => {
    const socket = req.socket;
    waiting.delete(socket);
    res.once('finish', () => !socket.destroyed && waiting.set(socket, true));
  });
  // requests in progress are bounded by the request timeout; all connections together by twice the cap
  server.maxConnections = limits.maxConnections * 2;
  server.maxRequestsPerSocket = 1000;
  return server;
}
