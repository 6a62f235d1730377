// The console's only way to the server: a client typed from docs/openapi.json (schema.d.ts is
// generated from it by `npm run generate`, part of the build), so a page can call only what the
// API documents, with the documented bodies. Every error is thrown as an ApiError carrying the
// API's own message.

import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

type ErrorBody = Schemas["Error"]["error"];

/**
 * An answer other than 2xx, with the API's error code and message; for a refused settings
 * document also where in it the problem is (`path`, e.g. `rules[2].when.all[0].attribute.in`,
 * `""` for the document as a whole) and the organizations it names that the tenant lacks.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly path?: string,
    readonly unknownOrganizations?: NonNullable<ErrorBody["unknown_organizations"]>,
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
  const body = error as { error?: Partial<ErrorBody> } | string | undefined;
  if (body && typeof body === "object" && body.error?.message) {
    const { code, message, path, unknown_organizations } = body.error;
    throw new ApiError(response.status, code ?? "error", message, path, unknown_organizations);
  }
  throw new ApiError(response.status, "error", `${response.status} ${response.statusText}`.trim());
}
