// Who is signed in: the tokens (kept in sessionStorage, so a reload keeps the session and a
// closed tab ends it), the user's roles and sites, and renewing the access token before it
// runs out (and once after a 401). A reload without a network (a technician's round in a
// basement) keeps the session with the user as last loaded; the server checks every call.
import { defineStore } from "pinia";
import { computed, ref } from "vue";

import { ApiError, api, call, useTokens, type Me, type TokenPair } from "@/api/client";
import { roundsOwner } from "@/rounds";

const ACCESS = "bw-access";
const REFRESH = "bw-refresh";
const ME = "bw-me";
/** Renew this long before the access token expires. */
const RENEW_EARLY_S = 60;

export const useSession = defineStore("session", () => {
  const access = ref<string | null>(sessionStorage.getItem(ACCESS));
  const refresh = ref<string | null>(sessionStorage.getItem(REFRESH));
  const me = ref<Me | null>(null);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let renewing: Promise<boolean> | null = null;

  const signedIn = computed(() => me.value !== null);
  /** A contractor's user (维保单位): its role is exclusive, its pages are its orders only. */
  const isContractor = computed(() => (me.value?.roles ?? []).join() === "contractor");

  function store(pair: TokenPair): void {
    access.value = pair.access_token;
    refresh.value = pair.refresh_token;
    sessionStorage.setItem(ACCESS, pair.access_token);
    sessionStorage.setItem(REFRESH, pair.refresh_token);
    clearTimeout(timer);
    timer = setTimeout(() => void renew(), Math.max(10, pair.expires_in - RENEW_EARLY_S) * 1000);
  }

  function clear(): void {
    clearTimeout(timer);
    access.value = null;
    refresh.value = null;
    me.value = null;
    roundsOwner(null);
    sessionStorage.removeItem(ACCESS);
    sessionStorage.removeItem(REFRESH);
    sessionStorage.removeItem(ME);
  }

  async function renewOnce(): Promise<boolean> {
    const token = refresh.value;
    if (!token) return false;
    const { data } = await api.POST("/api/auth/refresh", { body: { refresh_token: token } });
    if (!data) return false;
    store(data);
    return true;
  }

  /** A new token pair from the refresh token; concurrent callers share one request. */
  function renew(): Promise<boolean> {
    renewing ??= renewOnce()
      .catch(() => false)
      .finally(() => {
        renewing = null;
      });
    return renewing;
  }

  async function loadMe(): Promise<void> {
    me.value = await call(api.GET("/api/auth/me"));
    roundsOwner(me.value.name);
    sessionStorage.setItem(ME, JSON.stringify(me.value));
  }

  async function login(username: string, password: string): Promise<void> {
    const pair = await call(
      api.POST("/api/auth/token", {
        body: { username, password, grant_type: "password" },
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
      }),
    );
    store(pair);
    await loadMe();
  }

  /** Resume a session kept in this tab (after a reload); false when there is none. */
  async function restore(): Promise<boolean> {
    if (me.value) return true;
    if (!access.value && !refresh.value) return false;
    try {
      await loadMe();
      return true;
    } catch (err) {
      // only a refusal (401, after a failed renew) ends the session; no network, a proxy's
      // 502/503/504 while the console restarts or a timeout keep it, as last loaded (19b-r M5)
      const kept = err instanceof ApiError && err.status === 401 ? null : sessionStorage.getItem(ME);
      if (kept) {
        me.value = JSON.parse(kept) as Me;
        roundsOwner(me.value.name);
        return true;
      }
      clear();
      return false;
    }
  }

  function logout(): void {
    clear();
  }

  /** Whether the user holds one of `roles` (admins hold every role). */
  function can(...roles: string[]): boolean {
    const mine = me.value?.roles ?? [];
    return mine.includes("admin") || roles.some((r) => mine.includes(r));
  }

  useTokens({ accessToken: () => access.value, renew, expired: clear });

  return { access, me, signedIn, isContractor, login, logout, restore, renew, can };
});
