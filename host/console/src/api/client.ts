// The console's only way to the server: a client typed from docs/openapi.json (schema.d.ts is
// generated from it by `npm run generate`, part of the build), so a page can call only what the
// API documents, with the documented bodies. Every error is thrown as an ApiError carrying the
// API's own message.

import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

/** An answer other than 2xx, with the API's error code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type Api = ReturnType<typeof createClient<paths>>;

/** A client that sends `key` as the bearer token on every request. */
export function apiClient(key: string): Api {
  const client = createClient<paths>({ baseUrl: window.location.origin });
  client.use({
    onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${key}`);
      return request;
    },
  });
  return client;
}

interface Result<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a successful answer; otherwise an ApiError with the API's message. */
export async function ok<T>(call: Promise<Result<T>>): Promise<T> {
  let result: Result<T>;
  try {
    result = await call;
  } catch (cause) {
    throw new ApiError(0, "network", `The server could not be reached: ${String(cause)}`);
  }
  const { data, error, response } = result;
  if (response.ok) return data as T;
  const body = error as { error?: { code?: string; message?: string } } | string | undefined;
  if (body && typeof body === "object" && body.error?.message) {
    throw new ApiError(response.status, body.error.code ?? "error", body.error.message);
  }
  throw new ApiError(response.status, "error", `${response.status} ${response.statusText}`.trim());
}
