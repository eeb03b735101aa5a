// The audit log, the organisation's or the platform's, read backwards in pages: each page's
// oldest entry is where the next one starts (lib/auditLog.ts's nextBefore).
import { infiniteQueryOptions } from "@tanstack/react-query";
import { nextBefore } from "../lib/auditLog";
import { call } from "./http";

export type AuditScope = "org" | "platform";
export const AUDIT_PAGE = 50;

export const auditKeys = {
  log: (scope: AuditScope) => ["audit", scope] as const,
};

export const auditLogQuery = (scope: AuditScope) =>
  infiniteQueryOptions({
    queryKey: auditKeys.log(scope),
    queryFn: ({ pageParam, signal }) => {
      const query = { before: pageParam, limit: AUDIT_PAGE };
      return scope === "platform" ? call("get", "/platform/audit", { query, signal }) : call("get", "/audit", { query, signal });
    },
    initialPageParam: undefined as number | undefined,
    getNextPageParam: (last) => nextBefore(last),
  });
