// What every page of the signed-in console shares: the tenant, its API client and the key
// signed in with (provided by the frame, app.tsx), and links between pages.

import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Api } from "./api/client";

export interface Console {
  tenant: string;
  api: Api;
  /** The id of the key signed in with (`mk_<id>_<secret>`). */
  keyId: string;
}

export const ConsoleContext = createContext<Console | null>(null);

/** The signed-in tenant and its API client. */
export function useConsole(): Console {
  const value = useContext(ConsoleContext);
  if (!value) throw new Error("useConsole outside the signed-in console");
  return value;
}

/** A link to a page of the console. */
export function href(...parts: (string | number)[]): string {
  return "#/" + parts.map((part) => encodeURIComponent(String(part))).join("/");
}
