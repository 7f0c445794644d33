// Client routes. To add a page: a view in views/, a route here (lazy import, a `titleKey` in
// the catalogue), and — if it belongs in the header — an entry in NAV below. The console
// serves index.html for every non-API path, so each route can be bookmarked and reloaded.
import { createRouter, createWebHistory, type RouteRecordRaw } from "vue-router";

import { useSession } from "@/stores/session";

declare module "vue-router" {
  interface RouteMeta {
    /** Catalogue key of the page title. */
    titleKey: string;
    /** Reachable without signing in. */
    public?: boolean;
  }
}

export const routes: RouteRecordRaw[] = [
  { path: "/", redirect: { name: "alarms" } },
  {
    path: "/login",
    name: "login",
    component: () => import("@/views/LoginView.vue"),
    meta: { titleKey: "login.title", public: true },
  },
  {
    path: "/alarms",
    name: "alarms",
    component: () => import("@/views/AlarmsView.vue"),
    meta: { titleKey: "nav.alarms" },
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
    path: "/work-orders",
    name: "work-orders",
    component: () => import("@/views/WorkOrdersView.vue"),
    meta: { titleKey: "nav.workOrders" },
  },
  {
    path: "/work-orders/:id(\\d+)",
    name: "work-order",
    component: () => import("@/views/WorkOrderView.vue"),
    props: (route) => ({ id: Number(route.params.id) }),
    meta: { titleKey: "order.title" },
  },
  {
    path: "/my-work",
    name: "my-work",
    component: () => import("@/views/MyWorkView.vue"),
    meta: { titleKey: "nav.myWork" },
  },
  {
    path: "/kpis",
    name: "kpis",
    component: () => import("@/views/KpisView.vue"),
    meta: { titleKey: "nav.kpis" },
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
  { name: "kpis", label: "nav.kpis" },
] as const;

export function makeRouter() {
  const router = createRouter({ history: createWebHistory(), routes });
  router.beforeEach(async (to) => {
    if (to.meta.public) return true;
    if (await useSession().restore()) return true;
    return { name: "login", query: { next: to.fullPath } };
  });
  return router;
}
