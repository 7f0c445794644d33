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
/** The last round worker signed in on this phone (localStorage): a tab opened without network
 * (the old one closed in a basement) reopens the round pages as them and queues entries,
 * sent once they sign in again (review 19c-r M14). Removed on sign-out. */
const OFFLINE_ME = "bw-offline-me";
const ROUND_ROLES = ["technician", "supervisor", "admin"];
/** The pages an offline session opens: the rounds and a run. */
export const OFFLINE_PAGES: readonly string[] = ["rounds", "round-run"];
/** Renew this long before the access token expires. */
const RENEW_EARLY_S = 60;

export const useSession = defineStore("session", () => {
  const access = ref<string | null>(sessionStorage.getItem(ACCESS));
  const refresh = ref<string | null>(sessionStorage.getItem(REFRESH));
  const me = ref<Me | null>(null);
  /** Signed in from this phone's last round worker without a network: no token; the round
   * pages work from what the phone kept, the rest needs signing in. */
  const offline = ref(false);
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
    offline.value = false;
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
    offline.value = false;
    roundsOwner(me.value.name);
    sessionStorage.setItem(ME, JSON.stringify(me.value));
    try {
      if (me.value.roles.some((r) => ROUND_ROLES.includes(r))) localStorage.setItem(OFFLINE_ME, JSON.stringify(me.value));
    } catch {
      // no room: no offline session on this phone
    }
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
    if (!access.value && !refresh.value) return offlineSession();
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

  /** A new tab without tokens: the phone's last round worker when the server cannot be
   * reached (a refusal, i.e. the server answering, means signing in). */
  async function offlineSession(): Promise<boolean> {
    const kept = localStorage.getItem(OFFLINE_ME);
    if (!kept) return false;
    try {
      await call(api.GET("/api/auth/me"));
      return false; // answered without a token: cannot happen, sign in
    } catch (err) {
      if (err instanceof ApiError && err.status < 500) return false; // online: sign in
    }
    me.value = JSON.parse(kept) as Me;
    offline.value = true;
    roundsOwner(me.value.name);
    return true;
  }

  function logout(): void {
    localStorage.removeItem(OFFLINE_ME);
    offline.value = false;
    clear();
  }

  /** Whether the user holds one of `roles` (admins hold every role). */
  function can(...roles: string[]): boolean {
    const mine = me.value?.roles ?? [];
    return mine.includes("admin") || roles.some((r) => mine.includes(r));
  }

  useTokens({ accessToken: () => access.value, renew, expired: clear });

  return { access, me, offline, signedIn, isContractor, login, logout, restore, renew, can };
});
