// The signed-in tenant and admin key, for this tab only: sessionStorage (gone when the tab
// closes), never localStorage, cookies or the URL. The key goes only into the Authorization
// header of the console's API calls (api/client.ts).

const STORAGE_KEY = "muster.console.session";

export interface Session {
  tenant: string;
  key: string;
}

export function loadSession(): Session | null {
  const raw = sessionStorage.getItem(STORAGE_KEY);
  if (!raw) return null;
  try {
    const value = JSON.parse(raw) as Partial<Session>;
    if (typeof value.tenant === "string" && typeof value.key === "string") {
      return { tenant: value.tenant, key: value.key };
    }
  } catch {
    // A value this console did not write: forget it.
  }
  sessionStorage.removeItem(STORAGE_KEY);
  return null;
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}
