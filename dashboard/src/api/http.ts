// Calls typed from the generated schema (src/api/schema.d.ts, `npm run gen:api`): the path,
// its parameters, the query, the body and the answer all come from docs/openapi.json, so a
// change on the server shows up here as a type error. The request itself goes through
// client.ts, the only fetch.
import { request, type RequestOptions } from "./client";
import type { paths } from "./schema";

type Prefix = "/api/v1";
type Method = "get" | "post" | "put" | "patch" | "delete";

/** The API's paths without the /api/v1 prefix, as the client takes them: "/machines/{id}". */
export type ApiPath = { [K in keyof paths]: K extends `${Prefix}${infer P}` ? P : never }[keyof paths];

/** The paths that answer `method`. */
export type PathWith<M extends Method> = {
  [P in ApiPath]: undefined extends paths[`${Prefix}${P}`][M] ? never : P;
}[ApiPath];

export type Operation<M extends Method, P extends PathWith<M>> = NonNullable<paths[`${Prefix}${P}`][M]>;

type JsonOf<R> = R extends { content: { "application/json": infer B } } ? B : void;
/** The body of the operation's success answer (200 or 201; none for a 204). */
export type Answer<O> = O extends { responses: infer R }
  ? R extends { 200: infer S }
    ? JsonOf<S>
    : R extends { 201: infer S }
      ? JsonOf<S>
      : void
  : never;

/** The JSON request body the operation takes. */
export type BodyOf<O> = O extends { requestBody: { content: { "application/json": infer B } } }
  ? B
  : O extends { requestBody?: { content: { "application/json": infer B } } }
    ? B | undefined
    : never;

export type QueryOf<O> = O extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;
export type PathParamsOf<O> = O extends { parameters: { path: infer P } } ? P : never;

type Part<K extends string, V, Optional extends boolean = false> = [V] extends [never]
  ? object
  : Optional extends true
    ? { [_ in K]?: V }
    : undefined extends V
      ? { [_ in K]?: V }
      : { [_ in K]: V };

export type CallInit<O> = Part<"path", PathParamsOf<O>> &
  Part<"query", QueryOf<O>, true> &
  Part<"body", BodyOf<O>> &
  Pick<RequestOptions, "signal" | "noRefresh">;

type InitArgs<O> = object extends CallInit<O> ? [init?: CallInit<O>] : [init: CallInit<O>];

/** "/machines/{id}" with { id: "a b" } → "/machines/a%20b". */
export function fillPath(path: string, params?: Record<string, string | number>): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params?.[name];
    if (value === undefined) throw new Error(`missing path parameter ${name} for ${path}`);
    return encodeURIComponent(String(value));
  });
}

/** One call of the API, typed from the schema: `call("get", "/machines/{id}", { path: { id } })`. */
export function call<M extends Method, P extends PathWith<M>>(
  method: M,
  path: P,
  ...[init]: InitArgs<Operation<M, P>>
): Promise<Answer<Operation<M, P>>> {
  const i = (init ?? {}) as { path?: Record<string, string | number>; query?: RequestOptions["query"]; body?: unknown } & Pick<
    RequestOptions,
    "signal" | "noRefresh"
  >;
  return request<Answer<Operation<M, P>>>(method.toUpperCase(), fillPath(path, i.path), {
    query: i.query,
    body: i.body,
    signal: i.signal,
    noRefresh: i.noRefresh,
  });
}
