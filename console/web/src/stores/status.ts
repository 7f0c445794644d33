// The header's status line: when the page's data was last loaded, or why it failed.
import { defineStore } from "pinia";
import { ref } from "vue";

import { reason } from "@/api/client";

export const useStatus = defineStore("status", () => {
  const updatedAt = ref<Date | null>(null);
  const error = ref<string | null>(null);

  function updated(): void {
    updatedAt.value = new Date();
    error.value = null;
  }

  function failed(err: unknown): void {
    error.value = reason(err);
  }

  return { updatedAt, error, updated, failed };
});
