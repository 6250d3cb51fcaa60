/** Kazoo's envelope, in one place: {"data": …, "status": "success", "request_id": …}, and its error shape. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorBody } from './schema/common.js';

export function ok(reply: FastifyReply, data: unknown, extra: Record<string, unknown> = {}, code = 200): FastifyReply {
  return reply.code(code).send({ data, ...extra, status: 'success', request_id: reply.request.id });
}

export function errorBody(req: FastifyRequest, status: number, message: string, data: Record<string, unknown> = {}): ErrorBody {
  return { data, error: String(status), message, status: 'error', request_id: req.id };
}
