// Whether the screen is phone-sized (tables become cards there).
import { onBeforeUnmount, ref, type Ref } from "vue";

export const PHONE_QUERY = "(max-width: 640px)";

export function useNarrow(): Ref<boolean> {
  const query = window.matchMedia(PHONE_QUERY);
  const narrow = ref(query.matches);
  const update = (event: MediaQueryListEvent) => {
    narrow.value = event.matches;
  };
  query.addEventListener("change", update);
  onBeforeUnmount(() => query.removeEventListener("change", update));
  return narrow;
}
