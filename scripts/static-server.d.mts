export const ISOLATION_HEADERS: Record<string, string>;
/** Serves `mounts` (URL prefix → folder); `isolated` adds the COOP/COEP headers for cross-origin isolation. */
export function serve(
  mounts: Record<string, string>,
  port?: number,
  options?: { isolated?: boolean },
): Promise<{ url: string; close: () => Promise<void> }>;
