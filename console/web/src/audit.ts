// The audit log and user administration in the console (admins only): the action families
// the log can be filtered by, the catalogue key of an action or result (the raw value shows
// when the catalogue does not know it), and the API query of the page's filters.
import type { Schemas } from "@/api/client";

export type AuditEntry = Schemas["AuditEntryOut"];
export type UserAccount = Schemas["UserOut"];
export type Role = NonNullable<Schemas["UserUpdate"]["roles"]>[number];

/** Roles an admin can give (the API refuses any other). */
export const ROLES: readonly Role[] = ["viewer", "engineer", "technician", "supervisor", "admin", "contractor"];

/** Action families (the API's `action` filter: a name ending in "." takes the family). */
export const ACTION_FAMILIES = ["login.", "logout", "session.", "user.", "token.", "alarm.", "work_order.", "complaint.", "alerts.", "request_point.", "public_request.", "round.", "stock.", "purchase.", "gateway."] as const;

/** Results the API records (the `result` filter). */
export const RESULTS = ["ok", "unauthorized", "denied", "not_found", "conflict", "invalid", "throttled", "unavailable", "error"] as const;

/** Entries per page, as offered by the pager. */
export const PAGE_SIZES = [25, 50, 100] as const;

/** The catalogue key of an action or family: dots become underscores ("login.failed" →
 * "auditAction.login_failed"; the family "login." → "auditFamily.login"). */
export function actionKey(action: string): string {
  return action.endsWith(".")
    ? `auditFamily.${action.slice(0, -1).replace(/\./g, "_")}`
    : `auditAction.${action.replace(/\./g, "_")}`;
}

export interface AuditFilters {
  action: string;
  actor: string;
  result: string;
  /** [from, to) in the browser's clock, or null for no limit. */
  range: [Date, Date] | null;
  page: number;
  size: number;
}

export function noFilters(): AuditFilters {
  return { action: "", actor: "", result: "", range: null, page: 1, size: PAGE_SIZES[1] };
}

/** The API query of the filters: only those given, times as UTC ISO 8601. */
export function auditQuery(f: AuditFilters) {
  const actor = f.actor.trim();
  return {
    limit: f.size,
    offset: (f.page - 1) * f.size,
    ...(f.action ? { action: f.action } : {}),
    ...(actor ? { actor } : {}),
    ...(f.result ? { result: f.result } : {}),
    ...(f.range ? { since: f.range[0].toISOString(), until: f.range[1].toISOString() } : {}),
  };
}

/** What was asked, compactly: "roles: [\"engineer\"] → …" as `key: value` pairs. */
export function detailLine(detail: Record<string, unknown> | null | undefined): string {
  if (!detail) return "";
  return Object.entries(detail)
    .map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join("; ");
}
