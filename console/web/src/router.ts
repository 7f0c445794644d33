// Client routes. To add a page: a view in views/, a route here (lazy import, a `titleKey` in
// the catalogue), and — if it belongs in the header — an entry in NAV below. The console
// serves index.html for every non-API path, so each route can be bookmarked and reloaded.
import { createRouter, createWebHistory, type RouteRecordRaw } from "vue-router";

import { OFFLINE_PAGES, useSession } from "@/stores/session";

declare module "vue-router" {
  interface RouteMeta {
    /** Catalogue key of the page title. */
    titleKey: string;
    /** Reachable without signing in. */
    public?: boolean;
    /** For the public (owners on a phone): without the staff console's header, mute button
     * and API links, unless a staff member is signed in. */
    bare?: boolean;
    /** Only users holding one of these roles (admins hold every role); others are sent to
     * the not-allowed page. */
    roles?: readonly string[];
    /** Open to a contractor's user (维保单位): every other page is not. */
    contractors?: boolean;
  }
}

/** Who sees complaints (as the API: technicians do not). */
const COMPLAINT_READERS = ["viewer", "engineer", "supervisor"] as const;

export const routes: RouteRecordRaw[] = [
  // "/" lands on the user's work: a technician's own orders, everyone else's alarm console
  // (the guard below decides, once the session is known).
  { path: "/", name: "home", redirect: { name: "alarms" }, meta: { titleKey: "nav.alarms" } },
  {
    path: "/login",
    name: "login",
    component: () => import("@/views/LoginView.vue"),
    meta: { titleKey: "login.title", public: true, contractors: true },
  },
  {
    path: "/alarms",
    name: "alarms",
    component: () => import("@/views/AlarmsView.vue"),
    meta: { titleKey: "nav.alarms" },
  },
  {
    path: "/alarms/:id",
    name: "alarm",
    component: () => import("@/views/AlarmView.vue"),
    props: true,
    meta: { titleKey: "alarmPage.title" },
  },
  {
    path: "/alerts",
    name: "alerts",
    component: () => import("@/views/AlertsView.vue"),
    meta: { titleKey: "alerts.title" },
  },
  {
    path: "/board",
    name: "board",
    component: () => import("@/views/BoardView.vue"),
    meta: { titleKey: "nav.board" },
  },
  {
    path: "/equipment/:site/:id",
    name: "equipment",
    component: () => import("@/views/EquipmentView.vue"),
    props: true,
    meta: { titleKey: "equipment.trend" },
  },
  {
    path: "/equipment/:site/:id/history",
    name: "equipment-history",
    component: () => import("@/views/EquipmentHistoryView.vue"),
    props: true,
    meta: { titleKey: "wo.history" },
  },
  {
    path: "/pm-plans",
    name: "pm-plans",
    component: () => import("@/views/PmPlansView.vue"),
    meta: { titleKey: "pmPlans.title", roles: ["supervisor"] },
  },
  {
    path: "/budgets",
    name: "budgets",
    component: () => import("@/views/BudgetsView.vue"),
    meta: { titleKey: "budget.title" },
  },
  {
    path: "/work-orders",
    name: "work-orders",
    component: () => import("@/views/WorkOrdersView.vue"),
    meta: { titleKey: "nav.workOrders", contractors: true },
  },
  {
    path: "/work-orders/:id(\\d+)",
    name: "work-order",
    component: () => import("@/views/WorkOrderView.vue"),
    props: (route) => ({ id: Number(route.params.id) }),
    meta: { titleKey: "order.title", contractors: true },
  },
  {
    path: "/complaints",
    name: "complaints",
    component: () => import("@/views/ComplaintsView.vue"),
    meta: { titleKey: "nav.complaints", roles: COMPLAINT_READERS },
  },
  {
    path: "/complaints/:id(\\d+)",
    name: "complaint",
    component: () => import("@/views/ComplaintView.vue"),
    props: (route) => ({ id: Number(route.params.id) }),
    meta: { titleKey: "complaint.listTitle", roles: COMPLAINT_READERS },
  },
  {
    path: "/households/:site",
    name: "household",
    component: () => import("@/views/HouseholdView.vue"),
    props: (route) => ({
      site: String(route.params.site),
      building: typeof route.query.building === "string" ? route.query.building : "",
      room: typeof route.query.room === "string" ? route.query.room : "",
    }),
    meta: { titleKey: "complaint.household", roles: COMPLAINT_READERS },
  },
  {
    path: "/my-work",
    name: "my-work",
    component: () => import("@/views/MyWorkView.vue"),
    meta: { titleKey: "nav.myWork" },
  },
  {
    path: "/rounds",
    name: "rounds",
    component: () => import("@/views/RoundsView.vue"),
    meta: { titleKey: "rounds.title" },
  },
  {
    path: "/rounds/:id(\\d+)/run",
    name: "round-run",
    component: () => import("@/views/RoundRunView.vue"),
    props: (route) => ({ id: Number(route.params.id) }),
    meta: { titleKey: "rounds.title", roles: ["technician", "supervisor"] },
  },
  {
    path: "/kpis",
    name: "kpis",
    component: () => import("@/views/KpisView.vue"),
    meta: { titleKey: "nav.kpis" },
  },
  {
    path: "/energy",
    name: "energy",
    component: () => import("@/views/EnergyView.vue"),
    meta: { titleKey: "energy.title" },
  },
  {
    path: "/gateways",
    name: "gateways",
    component: () => import("@/views/GatewaysView.vue"),
    meta: { titleKey: "gateways.title", roles: ["engineer", "supervisor"] },
  },
  {
    path: "/gateways/:site/:gateway",
    name: "gateway",
    component: () => import("@/views/GatewaysView.vue"),
    meta: { titleKey: "gateways.title", roles: ["engineer", "supervisor"] },
  },
  {
    path: "/audit",
    name: "audit",
    component: () => import("@/views/AuditView.vue"),
    meta: { titleKey: "audit.title", roles: ["admin"] },
  },
  {
    path: "/users",
    name: "users",
    component: () => import("@/views/UsersView.vue"),
    meta: { titleKey: "users.title", roles: ["admin"] },
  },
  {
    path: "/scorecard",
    name: "scorecard",
    component: () => import("@/views/ScorecardView.vue"),
    meta: { titleKey: "contractors.scorecard", roles: ["contractor"], contractors: true },
  },
  {
    path: "/contractors",
    name: "contractors",
    component: () => import("@/views/ContractorsView.vue"),
    meta: { titleKey: "contractors.title", roles: ["supervisor"] },
  },
  {
    path: "/stock",
    name: "stock",
    component: () => import("@/views/StockView.vue"),
    meta: { titleKey: "stock.title" },
  },
  {
    path: "/parts",
    name: "parts",
    component: () => import("@/views/PartsView.vue"),
    meta: { titleKey: "parts.title" },
  },
  {
    path: "/stock/ledger",
    name: "stock-ledger",
    component: () => import("@/views/StockLedgerView.vue"),
    meta: { titleKey: "stock.ledger" },
  },
  {
    path: "/emergency",
    name: "emergency",
    component: () => import("@/views/EmergencyView.vue"),
    meta: { titleKey: "emergency.title" },
  },
  {
    path: "/service-desk",
    name: "service-desk",
    component: () => import("@/views/ServiceDeskView.vue"),
    meta: { titleKey: "serviceDesk.title", roles: ["supervisor"] },
  },
  // The public repair-request pages: reached from a QR code, without an account.
  {
    path: "/r/:code",
    name: "public-request",
    component: () => import("@/views/PublicRequestView.vue"),
    props: true,
    meta: { titleKey: "publicRequest.title", public: true, bare: true },
  },
  {
    path: "/s/:token",
    name: "request-status",
    component: () => import("@/views/RequestStatusView.vue"),
    props: true,
    meta: { titleKey: "requestStatus.page", public: true, bare: true },
  },
  {
    path: "/not-allowed",
    name: "forbidden",
    component: () => import("@/views/ForbiddenView.vue"),
    meta: { titleKey: "app.forbidden", contractors: true },
  },
  {
    path: "/:unknown(.*)*",
    name: "not-found",
    component: () => import("@/views/NotFoundView.vue"),
    meta: { titleKey: "app.notFound", public: true },
  },
];

/** The header's navigation: route name and catalogue key. */
export const NAV = [
  { name: "alarms", label: "nav.alarms" },
  { name: "board", label: "nav.board" },
  { name: "work-orders", label: "nav.workOrders" },
  { name: "my-work", label: "nav.myWork" },
  { name: "complaints", label: "nav.complaints", roles: COMPLAINT_READERS },
  { name: "rounds", label: "nav.rounds" },
  { name: "pm-plans", label: "nav.pmPlans", roles: ["supervisor"] },
  { name: "kpis", label: "nav.kpis" },
  { name: "energy", label: "nav.energy" },
  { name: "budgets", label: "nav.budgets" },
  { name: "alerts", label: "nav.alerts", roles: ["engineer", "supervisor"] },
  { name: "emergency", label: "nav.emergency" },
  { name: "service-desk", label: "nav.serviceDesk", roles: ["supervisor"] },
  { name: "contractors", label: "nav.contractors", roles: ["supervisor"] },
  { name: "stock", label: "nav.stock" },
  { name: "parts", label: "nav.parts" },
  { name: "scorecard", label: "nav.scorecard", roles: ["contractor"] },
  { name: "gateways", label: "nav.gateways", roles: ["engineer", "supervisor"] },
  { name: "audit", label: "nav.audit", roles: ["admin"] },
  { name: "users", label: "nav.users", roles: ["admin"] },
] as const;

/** Pages in the header of a contractor's user (维保单位): its orders only. */
export const CONTRACTOR_NAV: readonly string[] = ["work-orders", "scorecard"];

/** Where "/" leads: a contractor's user to its orders, technicians (without a desk role) to
 * their work, the others to alarms. */
export function landing(can: (...roles: string[]) => boolean, contractor = false): string {
  if (contractor) return "work-orders";
  return can("technician") && !can("engineer", "supervisor", "viewer") ? "my-work" : "alarms";
}

export function makeRouter() {
  const router = createRouter({ history: createWebHistory(), routes });
  router.beforeEach(async (to) => {
    if (to.meta.public) return true;
    const session = useSession();
    if (!(await session.restore())) {
      return { name: "login", query: { next: to.redirectedFrom?.fullPath ?? to.fullPath } };
    }
    if (session.offline && !OFFLINE_PAGES.includes(String(to.name))) {
      return { name: "login", query: { next: to.fullPath } };
    }
    const contractor = session.isContractor;
    if (to.meta.roles && !session.can(...to.meta.roles)) return { name: "forbidden" };
    if (contractor && !to.meta.contractors && to.path !== "/") return { name: "forbidden" };
    if (to.redirectedFrom?.path === "/" || to.path === "/") {
      const home = landing(session.can, contractor);
      if (to.name !== home) return { name: home };
    }
    return true;
  });
  return router;
}
