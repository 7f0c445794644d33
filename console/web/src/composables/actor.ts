import { computed, type ComputedRef } from "vue";

import { useSession } from "@/stores/session";
import type { Actor } from "@/workorders";

/** The signed-in user as a work-order actor. */
export function useActor(): ComputedRef<Actor> {
  const session = useSession();
  return computed(() => ({
    name: session.me?.name ?? "",
    supervisor: session.can("supervisor"),
    technician: session.can("technician"),
    contractor: session.me?.contractor ?? null,
  }));
}
