// A typed client over `wx.request`, built from the types openapi-typescript generates from
// api-spec/openapi.json alone: paths, methods, parameters, bodies and answers are checked
// by the compiler, so a change of the contract breaks this file, not the phone.

import type { components, paths } from "../generated/schema.js";
import type { Wx } from "./wx.js";

export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];

type Method = "get" | "post" | "put" | "patch" | "delete";
type Op<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type JsonOf<R> = R extends { content: { "application/json": infer B } } ? B : never;
type Responses<O> = O extends { responses: infer R } ? R : never;
/** The body of the operation's 2xx JSON answers. */
export type Ok<O> = {
  [S in keyof Responses<O>]: S extends 200 | 201 ? JsonOf<Responses<O>[S]> : never;
}[keyof Responses<O>];
type BodyOf<O> = O extends { requestBody: { content: { "application/json": infer B } } }
  ? B
  : O extends { requestBody?: { content: { "application/json": infer B } } }
    ? B
    : never;
type PathOf<O> = O extends { parameters: { path: infer A } } ? A : never;
type QueryOf<O> = O extends { parameters: { query?: infer Q } } ? Q : never;

export interface CallOptions<O> {
  path?: PathOf<O>;
  query?: QueryOf<O>;
  body?: BodyOf<O>;
  headers?: Record<string, string>;
}

/** An error answer: always application/problem+json with a stable `code`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(`${status} ${problem.code}: ${problem.detail}`);
  }
}

/** The network failed (no answer): the call may be retried later. */
export class Offline extends Error {}

export class Api {
  accessToken: string | undefined;

  constructor(
    private readonly wx: Wx,
    private readonly base: string,
  ) {}

  call<P extends keyof paths, M extends Method>(
    method: M,
    template: P,
    options: CallOptions<Op<P, M>> = {},
  ): Promise<Ok<Op<P, M>>> {
    let url = String(template);
    for (const [k, v] of Object.entries((options.path ?? {}) as Record<string, unknown>)) {
      url = url.replace(`{${k}}`, encodeURIComponent(String(v)));
    }
    const query = Object.entries((options.query ?? {}) as Record<string, unknown>)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join("&");
    const header: Record<string, string> = { ...(options.headers ?? {}) };
    if (options.body !== undefined) {
      header["content-type"] = "application/json";
    }
    if (this.accessToken) {
      header["authorization"] = `Bearer ${this.accessToken}`;
    }
    return new Promise((resolve, reject) => {
      this.wx.request({
        url: `${this.base}${url}${query ? `?${query}` : ""}`,
        method: method.toUpperCase() as "GET",
        header,
        data: options.body,
        timeout: 15000,
        success: (res) => {
          if (res.statusCode >= 200 && res.statusCode < 300) {
            resolve(res.data as Ok<Op<P, M>>);
          } else {
            reject(new ApiError(res.statusCode, res.data as Problem));
          }
        },
        fail: (err) => reject(new Offline(err.errMsg)),
      });
    });
  }
}
